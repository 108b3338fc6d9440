// The console's live updates over one WebSocket (/ws/console/; protocol in apps/console/consumers.py).
// Every element with data-live="<group>" is subscribed; what arrives is put in place by element
// id, so a repeated fragment replaces itself. A closed socket reconnects by itself and each
// subscription catches up from the server's database, so a missed message is never a missing line.
"use strict";
(() => {
  const watched = () => [...document.querySelectorAll("[data-live]")];
  const status = document.getElementById("live-status");
  const setStatus = (text, state) => {
    if (!status) return;
    status.textContent = text;
    status.dataset.state = state;
  };
  const highest = (container, attribute) =>
    Math.max(-1, ...[...container.querySelectorAll(`[${attribute}]`)].map((node) => Number(node.getAttribute(attribute))));
  const before = (a, b) => {
    const [x, y] = [Number(a), Number(b)];
    return Number.isNaN(x) || Number.isNaN(y) ? a < b : x < y;
  };

  // Lists whose length the navigation counts: a row joining or leaving one refreshes the counts.
  const counted = new Set(["approvals-list", "monitor-calls"]);
  let recount = false;

  // An element already shown as it is (same id, same data-version) is kept, not drawn again: what
  // the person sees on it (an error beside it, a note being typed, the focus) stays.
  const unchanged = (shown, node) =>
    Boolean(shown) && node.dataset.version !== undefined && shown.dataset.version === node.dataset.version;

  function place(container, node) {
    const existing = node.id && document.getElementById(node.id);
    if (unchanged(existing, node)) return;
    for (const field of existing ? existing.querySelectorAll("textarea[id], input[id]") : []) {
      const twin = node.querySelector(`#${CSS.escape(field.id)}`);
      if (twin && field.value) twin.value = field.value; // an update keeps what is being typed
    }
    recount ||= container.id === "approvals-list"; // an approval decided or expired leaves the count
    if (existing) {
      existing.replaceWith(node);
    } else {
      recount ||= counted.has(container.id);
      const order = node.dataset.order;
      const next = order === undefined ? null
        : [...container.children].find((child) => child.dataset.order !== undefined && before(order, child.dataset.order));
      container.insertBefore(node, next);
    }
    if (window.htmx) window.htmx.process(node);
  }

  function apply(message) {
    for (const id of message.remove || []) {
      const gone = document.getElementById(id);
      recount ||= Boolean(gone);
      gone?.remove();
    }
    if (message.replace) {
      const target = document.getElementById(message.replace);
      if (target) {
        // A list drawn again keeps what the person was typing in it, and where.
        const typed = new Map([...target.querySelectorAll("textarea[id], input[id]")].map((f) => [f.id, f.value]));
        const focused = target.contains(document.activeElement) ? document.activeElement.id : "";
        const fresh = document.createElement("template");
        fresh.innerHTML = message.html;
        for (const node of [...fresh.content.querySelectorAll("[id][data-version]")]) {
          const shown = document.getElementById(node.id);
          if (target.contains(shown) && unchanged(shown, node)) node.replaceWith(shown);
        }
        target.replaceChildren(fresh.content);
        for (const [id, value] of typed) {
          const field = document.getElementById(id);
          if (field && value) field.value = value;
        }
        if (focused) document.getElementById(focused)?.focus();
        if (window.htmx) window.htmx.process(target);
      }
    }
    for (const piece of message.fragments || []) {
      const container = document.getElementById(piece.into);
      if (!container) continue;
      const template = document.createElement("template");
      template.innerHTML = piece.html.trim();
      for (const node of [...template.content.children]) place(container, node);
    }
    if (message.subscribed) {
      for (const element of watched()) if (element.dataset.live === message.subscribed) element.dataset.subscribed = "";
    }
    if (recount || message.replace) document.dispatchEvent(new CustomEvent("console:counts"));
    recount = false;
    document.dispatchEvent(new CustomEvent("console:updated", { detail: message }));
  }

  let delay = 500;
  let socket = null;

  function subscribe(element) {
    delete element.dataset.subscribed;
    const group = element.dataset.live;
    const subscription = { subscribe: group };
    if (group.startsWith("call-")) {
      subscription.after = highest(document, "data-seq");
      subscription.after_event = Math.max(0, highest(document, "data-event"));
    }
    socket.send(JSON.stringify(subscription));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/console/`);
    socket.onopen = () => {
      delay = 500;
      setStatus("Live", "live");
      for (const element of watched()) subscribe(element);
    };
    socket.onmessage = (event) => apply(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (event.code === 4401) return setStatus("Signed out: sign in again", "denied");
      if (event.code === 4403) return setStatus("Not allowed to watch this", "denied");
      setStatus("Reconnecting…", "reconnecting");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  // Pages that learn what to watch later (the test call, once its call exists) call
  // consoleLive.watch(element, group): the element is subscribed now and after every reconnect.
  window.consoleLive = {
    watch(element, group) {
      element.dataset.live = group;
      if (socket === null) connect();
      else if (socket.readyState === WebSocket.OPEN) subscribe(element);
    },
  };
  if (watched().length) connect();

  // Each list is caught up again every 30 s over the open socket, as after a reconnect: what a
  // process with no shared channel layer could not push (`make run`'s worker) still arrives.
  setInterval(() => {
    if (socket !== null && socket.readyState === WebSocket.OPEN) for (const element of watched()) subscribe(element);
  }, 30000);

  // Durations on the monitor tick by themselves.
  const since = (iso) => {
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    const minutes = Math.floor(seconds / 60);
    return minutes ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
  };
  setInterval(() => {
    for (const time of document.querySelectorAll("time.since")) time.textContent = since(time.getAttribute("datetime"));
  }, 1000);
})();
