// The call page's trace timeline (templates/console/_timeline.html). Places each bar, tick and
// mark on its axis from data-offset and data-duration (ms from the call's start) against the
// nearest data-axis-start / data-axis-length, through element.style (the CSP forbids style
// attributes in the HTML, not the CSSOM), and makes each span's button open its details.
"use strict";
(() => {
  const MIN_WIDTH = 0.4; // percent: a span too short to see still shows as a sliver

  function place(root) {
    for (const axis of root.querySelectorAll("[data-axis-length]")) {
      const start = Number(axis.dataset.axisStart) || 0;
      const length = Number(axis.dataset.axisLength) || 0;
      for (const node of axis.querySelectorAll("[data-offset]")) {
        if (node.closest("[data-axis-length]") !== axis) continue; // a nested axis places its own
        const at = length > 0 ? ((Number(node.dataset.offset) - start) / length) * 100 : 0;
        node.style.left = `${Math.min(Math.max(at, 0), 100)}%`;
        if (node.dataset.duration !== undefined) {
          const width = length > 0 ? (Number(node.dataset.duration) / length) * 100 : 0;
          node.style.width = `${Math.min(Math.max(width, MIN_WIDTH), 100 - Math.min(Math.max(at, 0), 100))}%`;
        }
      }
      axis.classList.add("tl-placed");
    }
  }

  function toggle(button) {
    const panel = document.getElementById(button.getAttribute("aria-controls"));
    if (!panel) return;
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".timeline .tl-toggle");
    if (button) toggle(button);
  });

  // Escape on an open span's button, or inside its details, closes them (focus on the button).
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !event.target.closest) return;
    const panel = event.target.closest(".timeline .tl-detail");
    const button = panel ? document.querySelector(`[aria-controls="${panel.id}"]`) : event.target.closest(".timeline .tl-toggle");
    if (button && button.getAttribute("aria-expanded") === "true") {
      toggle(button);
      button.focus();
    }
  });

  // A live call's timeline is drawn again by htmx (templates/console/call.html): place it anew.
  document.addEventListener("htmx:afterSwap", (event) => place(event.target));

  const start = () => place(document);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
