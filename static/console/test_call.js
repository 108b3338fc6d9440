// The test call page (templates/console/test_call.html): one conversation with the agent over the
// web chat socket (/ws/chat/; protocol in apps/chat/consumers.py). The reply streams into its line
// and is then replaced by the whole reply; what the agent would have done arrives as `test_effect`
// and is shown as a labelled card. The call's tool calls and step come over the console's socket
// (console.js: consoleLive.watch). Text from the server is only ever set as textContent.
"use strict";
(() => {
  const setup = document.getElementById("test-call-setup");
  const start = document.getElementById("test-call-start");
  const view = document.getElementById("test-call");
  if (!setup || !start || !view) return;

  const labels = JSON.parse(document.getElementById("test-call-labels").textContent);
  const alertBox = document.getElementById("test-call-error");
  const chat = document.getElementById("test-call-chat");
  const effects = document.getElementById("test-call-effects");
  const sayForm = document.getElementById("test-call-say");
  const input = document.getElementById("test-call-text");
  const send = document.getElementById("test-call-send");
  const summary = view.querySelector("[data-role=summary]");
  const field = (name) => view.querySelector(`[data-field="${name}"]`);
  const customerSelect = document.getElementById("test-call-customer");
  const chosen = (name) => start.querySelector(`input[name="${name}"]:checked`);

  const SPEAKERS = { customer: "Customer", agent: "Agent", system: "" };
  const CLOSED = {
    4401: "You are signed out: sign in again to make a test call.",
    4403: "Your role may not make test calls.",
  };

  let socket = null;
  let callId = null;
  let streaming = null; // the agent's line being streamed
  let waiting = false; // a message was sent and its reply has not come
  let over = false; // the conversation ended (or was left): nothing more can be said
  let takenOverBy = null; // a supervisor took the chat over: a person answers, not the AI
  let currency = "USD";

  // --- small helpers ------------------------------------------------------------------------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(text) {
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  function clearError() {
    alertBox.textContent = "";
    alertBox.hidden = true;
  }

  const stepLabel = (step) => (step ? step.replaceAll("_", " ") : "starting");

  function setStep(step) {
    // console.js may have replaced the step's element with the server's fragment: look it up anew.
    const shown = summary.querySelector(".step");
    if (shown && step) shown.textContent = stepLabel(step);
  }

  function setStatus(text) {
    field("status").textContent = text;
  }

  function setWaiting(value) {
    waiting = value;
    send.disabled = value || over;
    chat.setAttribute("aria-busy", String(value));
  }

  function line(speaker, text, who = SPEAKERS[speaker]) {
    const item = element("li", `line line-${speaker}`);
    if (who) item.append(element("span", "who", who));
    item.append(element("p", "", text));
    chat.append(item);
    item.scrollIntoView({ block: "nearest" });
    return item;
  }

  // --- the would-be effects, as a person reads them -------------------------------------------

  const money = (value) => {
    const amount = Number(value);
    if (Number.isNaN(amount)) return String(value);
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount);
    } catch {
      return `${currency} ${amount.toFixed(2)}`;
    }
  };

  function day(iso) {
    const [year, month, date] = iso.slice(0, 10).split("-").map(Number);
    const when = new Date(Date.UTC(year, month - 1, date));
    if (Number.isNaN(when.getTime())) return iso;
    return when.toLocaleDateString("en-US", { weekday: "long", month: "long", day: "numeric", year: "numeric", timeZone: "UTC" });
  }

  function moment(iso) {
    // "2026-11-28T10:00:00-08:00": the customer's own time, as the agent agreed it.
    const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
    return match ? `${day(match[1])}, ${match[2]} (the customer's time)` : iso;
  }

  function shown(key, value) {
    if (labels.values[key] && labels.values[key][value]) return labels.values[key][value];
    if (labels.money.includes(key)) return money(value);
    if (key.endsWith("_date")) return day(value);
    if (key === "due_at") return moment(value);
    if (key === "eta_minutes") return `${value} min`;
    if (key === "confidence") return `${value}%`;
    if (key.endsWith("_id")) return `#${value}`;
    return String(value).replaceAll("_", " ");
  }

  function humanize(key) {
    const text = key.replaceAll("_", " ");
    return labels.fields[key] || text.charAt(0).toUpperCase() + text.slice(1);
  }

  function effectCard(effect) {
    const { type, action, ...details } = effect;
    const card = element("article", `card effect effect-${action}`);
    card.append(element("h4", "", labels.titles[action] || `Would ${humanize(action).toLowerCase()}`));
    const list = element("dl", "fields");
    for (const [key, value] of Object.entries(details)) {
      if (value === null || value === undefined || value === "") continue;
      const pair = element("div");
      pair.append(element("dt", "", humanize(key)), element("dd", "", shown(key, value)));
      list.append(pair);
    }
    card.append(list);
    const raw = element("details", "raw");
    raw.append(element("summary", "", "As recorded on the test call"), element("pre", "", JSON.stringify({ action, ...details }, null, 2)));
    card.append(raw);
    return card;
  }

  // --- the conversation ---------------------------------------------------------------------

  function endStreaming(cutOff) {
    if (!streaming) return;
    streaming.removeAttribute("aria-busy");
    streaming.classList.add("said");
    if (cutOff) streaming.append(element("span", "quiet", "(cut off)"));
    streaming = null;
  }

  function finish(text, status) {
    over = true;
    if (text) line("system", text);
    setStatus(status);
    setWaiting(false);
    input.disabled = true;
  }

  function receive(message) {
    switch (message.type) {
      case "started": {
        callId = message.call_id;
        const link = field("call");
        link.textContent = `#${callId} (test)`;
        link.href = view.dataset.callUrl.replace("/0/", `/${callId}/`);
        summary.id = `call-${callId}-summary`;
        summary.firstElementChild.id = `call-${callId}-step`;
        setStep(message.step);
        setStatus("Talking");
        const events = view.querySelector("[data-role=events]");
        events.id = `events-${callId}`;
        if (window.consoleLive) window.consoleLive.watch(events, `call-${callId}`);
        input.disabled = false;
        input.focus();
        break;
      }
      case "token":
        if (!streaming) {
          streaming = line("agent", "");
          streaming.setAttribute("aria-busy", "true");
        }
        streaming.querySelector("p").append(message.text);
        streaming.scrollIntoView({ block: "nearest" });
        break;
      case "reply":
        if (message.by) {
          line("human_agent", message.text, `${message.by} (a person)`); // a supervisor's words
        } else {
          if (!streaming) streaming = line("agent", "");
          streaming.querySelector("p").textContent = message.text;
          endStreaming(false);
        }
        setStep(message.step);
        setWaiting(false);
        break;
      case "taken_over":
        endStreaming(true);
        takenOverBy = message.by;
        line("system", `${message.by} took the chat over: a person answers now, the AI is silent.`);
        setStatus(`Taken over by ${message.by}`);
        setWaiting(false);
        break;
      case "handed_back":
        takenOverBy = null;
        line("system", `${message.by} handed the chat back to the AI.`);
        setStatus("Talking");
        break;
      case "handoff":
        line("system", `Handed off to a person: ${message.reason}.` + (message.summary ? ` Summary for them: ${message.summary}` : ""));
        setStatus("Handed off");
        setWaiting(false);
        break;
      case "ended":
        finish(`The conversation ended${message.reason ? `: ${message.reason}` : ""}.`, "Ended");
        break;
      case "test_effect":
        effects.append(effectCard(message));
        break;
      case "error":
        showError(message.detail);
        setWaiting(false);
        if (callId === null) reset(); // the start was refused: back to the form, the error kept
        break;
      default:
        break;
    }
  }

  function open(request) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const current = new WebSocket(`${scheme}://${location.host}/ws/chat/`);
    socket = current;
    current.onopen = () => current.send(JSON.stringify(request));
    current.onmessage = (event) => {
      if (socket === current) receive(JSON.parse(event.data));
    };
    current.onclose = (event) => {
      if (socket !== current || over) return; // left by "New test call", or already ended
      const why = CLOSED[event.code] || "The connection to the agent closed. Start a new test call to go on.";
      showError(why);
      if (callId === null) reset();
      else finish("", "Disconnected");
    };
  }

  start.addEventListener("submit", (event) => {
    event.preventDefault();
    clearError();
    const option = customerSelect.selectedOptions[0];
    const workflow = chosen("workflow");
    const direction = chosen("direction");
    if (!workflow || !direction) return showError("Choose a workflow and a direction.");
    if (direction.value === "outbound" && !option.value) {
      customerSelect.focus();
      return showError("An outbound call needs a customer: choose one.");
    }
    currency = option.dataset.currency || "USD";
    field("customer").textContent = option.dataset.name;
    field("workflow").textContent = `${start.querySelector(`label[for="${workflow.id}"]`).textContent} · ${direction.value}`;
    setStatus("Connecting…");
    setup.hidden = true;
    view.hidden = false;
    over = false;
    setWaiting(true);
    open({
      type: "start",
      workflow: workflow.value,
      direction: direction.value,
      customer_id: option.value ? Number(option.value) : null,
    });
  });

  sayForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || over) return;
    if (waiting || !socket || socket.readyState !== WebSocket.OPEN) return showError("Wait for the agent's reply first.");
    clearError();
    line("customer", text);
    input.value = "";
    setWaiting(takenOverBy === null); // the AI answers; a person who took over may not at once
    socket.send(JSON.stringify({ type: "message", text }));
  });

  // Only the directions the chosen workflow starts in can be picked.
  function allowDirections() {
    const workflow = chosen("workflow");
    const allowed = (workflow?.dataset.directions || "").split(" ");
    for (const radio of start.querySelectorAll('input[name="direction"]')) {
      radio.disabled = !allowed.includes(radio.value);
      if (radio.disabled && radio.checked) radio.checked = false;
    }
    if (!chosen("direction")) start.querySelector('input[name="direction"]:not(:disabled)')?.click();
  }
  for (const radio of start.querySelectorAll('input[name="workflow"]')) radio.addEventListener("change", allowDirections);
  allowDirections();

  // "New test call": leave this conversation and set up another.
  function reset() {
    const leaving = socket;
    socket = null;
    leaving?.close();
    callId = null;
    streaming = null;
    takenOverBy = null;
    over = true;
    setWaiting(false);
    chat.replaceChildren();
    effects.replaceChildren();
    // A fresh events list and step, no longer named after (nor watched for) the old call.
    const events = view.querySelector("[data-role=events]");
    const fresh = events.cloneNode(false);
    fresh.removeAttribute("id");
    delete fresh.dataset.live;
    delete fresh.dataset.subscribed;
    events.replaceWith(fresh);
    summary.removeAttribute("id");
    summary.replaceChildren();
    const step = element("div");
    step.append(element("dt", "", "Step"), element("dd", "step", "starting"));
    summary.append(step);
    input.value = "";
    input.disabled = false;
    view.hidden = true;
    setup.hidden = false;
  }

  document.getElementById("test-call-new").addEventListener("click", () => {
    clearError();
    reset();
    customerSelect.focus();
  });
})();
