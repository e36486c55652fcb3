/* Claw's dashboard: plain JavaScript, no build step. Every control is derived from the
   device's capabilities as the API describes them; every text from the house is set with
   textContent (device names and camera descriptions are untrusted). */
"use strict";

const state = {
  devices: new Map(),   // id -> device as GET /api/devices describes it
  sections: new Set(),  // snapshot kinds the daemon has: jobs, events, skills, outbox...
  paused: false,
  audit: new Map(),     // id -> row
  events: [],           // camera events, newest first
  cameras: [],          // GET /api/cameras, when the eyes part offers it
  pending: [],
  dragging: new Set(),  // device ids whose slider is held: live updates wait for the release
  actor: "owner",
};

// -- small helpers --------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  // X-Claw proves a same-origin page: no other site can send a custom header without a CORS
  // preflight, which Claw never grants. The daemon refuses a page's POST without it.
  const init = { credentials: "same-origin", ...options, headers: { "X-Claw": "1", ...(options.headers || {}) } };
  if (options.body !== undefined && typeof options.body !== "string") {
    init.body = JSON.stringify(options.body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!response.ok && response.status !== 202 && response.status !== 409) {
    const message = (data && (data.message || data.error)) || `${response.status} ${response.statusText}`;
    const error = new Error(typeof message === "string" ? message : JSON.stringify(message));
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return { status: response.status, data };
}

function toast(text, kind = "info") {
  const el = $("toast");
  el.textContent = text;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, kind === "error" ? 7000 : 4000);
}

function when(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return new Date(value < 1e12 ? value * 1000 : value);
  const d = new Date(value);
  return isNaN(d) ? null : d;
}

// one format everywhere, as Claw writes times in its messages: "06:30" today, "Mon 7 Dec 06:30" on other days
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const NBSP = "\u00a0";  // "5 min" never breaks between the number and its unit

function clock(value) {
  const d = when(value);
  if (!d) return "—";
  const time = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  if (new Date().toDateString() === d.toDateString()) return time;
  return `${DAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]} ${time}`;
}

function relative(value) {
  const d = when(value);
  if (!d) return "";
  const s = Math.round((d - Date.now()) / 1000);
  const a = Math.abs(s);
  if (a < 10) return "just now";  // a live picture is not "in 0 s"
  const text = a < 60 ? `${a}${NBSP}s` : a < 3600 ? `${Math.round(a / 60)}${NBSP}min` : a < 86400 ? `${Math.round(a / 3600)}${NBSP}h` : `${Math.round(a / 86400)}${NBSP}d`;
  return s > 0 ? `in${NBSP}${text}` : `${text}${NBSP}ago`;
}

function pick(obj, ...keys) {
  for (const key of keys) if (obj && obj[key] !== undefined && obj[key] !== null && obj[key] !== "") return obj[key];
  return undefined;
}

function words(key) { return String(key).replace(/_/g, " "); }

function show(sectionId, visible) { $(sectionId).hidden = !visible; }

// -- devices: controls derived from capabilities ---------------------------------------------------

function valueText(cap, value) {
  if (value === undefined || value === null) return "—";
  if (cap.type === "switch" || typeof value === "boolean") {
    if (cap.key === "locked") return value ? "locked" : "unlocked";
    return value ? "on" : "off";
  }
  // colour temperature is kept in mired (what lights speak); people read it in kelvin, to the nearest 100
  if (cap.unit === "mired" && value > 0) return `${Math.round(1e6 / value / 100) * 100}${NBSP}K`;
  return `${value}${cap.unit ? (cap.unit === "%" ? "%" : `${NBSP}${cap.unit}`) : ""}`;
}

// an action's field, labelled by its schema's title ("favourite"), not its key ("query")
function paramLabel(cap, key) {
  const spec = (cap.params && cap.params[key]) || {};
  return spec.title || spec.description || words(key);
}

function sensitiveNote(cap) {
  if (!cap.sensitive || !cap.sensitive.length) return null;
  const values = cap.sensitive.map((v) => valueText(cap, v)).join(", ");
  return h("span", { class: "lock", title: `Setting ${cap.label} to ${values} needs an owner's OK code` }, "needs OK");
}

// the power switch sits in the device's header; every other capability gets a labelled row
function isPrimary(cap) { return cap.type === "switch" && cap.writable && cap.key === "on"; }

function control(device, cap) {
  const value = device.state[cap.key];
  const disabled = !device.available || !device.controllable;
  const send = (v) => setValues(device.id, { [cap.key]: v });
  const label = h("span", { class: "cap-label" }, cap.label, sensitiveNote(cap));
  if (!cap.writable || cap.type === "sensor") {
    return h("div", { class: "cap sensor", dataset: { key: cap.key } }, label, h("b", {}, valueText(cap, value)));
  }
  if (cap.type === "switch") {
    const input = h("input", {
      type: "checkbox", role: "switch", checked: Boolean(value), disabled,
      "aria-label": `${device.name} ${cap.label}`,
      onchange: (e) => send(e.target.checked),
    });
    return h("label", { class: "cap switch", dataset: { key: cap.key } }, label, input, h("span", { class: "track", "aria-hidden": "true" }));
  }
  if (cap.type === "number") {
    const min = cap.min ?? 0, max = cap.max ?? 100, step = cap.step ?? 1;
    const out = h("output", {}, valueText(cap, value));
    const input = h("input", {
      type: "range", min, max, step, value: value ?? min, disabled,
      "aria-label": `${device.name} ${cap.label}`,
      oninput: (e) => { out.textContent = valueText(cap, Number(e.target.value)); },
      onpointerdown: () => state.dragging.add(device.id),
      onchange: (e) => { state.dragging.delete(device.id); send(Number(e.target.value)); },
    });
    return h("label", { class: "cap number", dataset: { key: cap.key } }, label, input, out);
  }
  if (cap.type === "choice") {
    const options = [...(cap.options || [])];
    if (value !== undefined && !options.includes(value)) options.unshift(value);  // e.g. "opening"
    const select = h("select", { disabled, "aria-label": `${device.name} ${cap.label}`, onchange: (e) => send(e.target.value) },
      options.map((o) => h("option", { value: o, selected: o === value, disabled: !(cap.options || []).includes(o) }, words(o))));
    return h("label", { class: "cap choice", dataset: { key: cap.key } }, label, select);
  }
  if (cap.type === "action") {
    const params = Object.keys(cap.params || {});
    const inputs = params.map((p) => h("input", { type: "text", placeholder: paramLabel(cap, p), "aria-label": `${device.name} ${paramLabel(cap, p)}`, dataset: { param: p } }));
    const act = (option) => {
      const given = {};
      for (const input of inputs) if (input.value.trim()) given[input.dataset.param] = input.value.trim();
      runAction(device.id, option, given);
    };
    // the first few actions as buttons, the rest in a menu, so a speaker's card stays small
    const options = cap.options || [];
    const buttons = options.slice(0, 4).map((option) => h("button", { type: "button", disabled, class: "small", onclick: () => act(option) }, words(option)));
    const more = options.length > 4 ? h("select", {
      disabled, class: "small", "aria-label": `${device.name} more actions`,
      onchange: (e) => { const option = e.target.value; e.target.value = ""; if (option) act(option); },
    }, h("option", { value: "" }, "more…"), options.slice(4).map((o) => h("option", { value: o }, words(o)))) : null;
    return h("div", { class: "cap action", dataset: { key: cap.key } }, h("div", { class: "buttons" }, buttons, more), inputs.length ? h("div", { class: "params" }, inputs) : null);
  }
  return h("div", { class: "cap" }, label, h("b", {}, JSON.stringify(value)));
}

function deviceCard(device) {
  const caps = device.capabilities || [];
  const primary = caps.find(isPrimary);
  const rest = caps.filter((c) => c !== primary);
  const badges = [];
  if (!device.available) badges.push(h("span", { class: "badge off" }, "unreachable"));
  if (!device.controllable) badges.push(h("span", { class: "badge warn", title: "Say “allow " + device.name + "” to let Claw control it" }, "waiting for your yes"));
  const more = h("div", { class: "more-panel", hidden: true },
    h("dl", {},
      h("dt", {}, "kind"), h("dd", {}, words(device.kind)),
      h("dt", {}, "id"), h("dd", {}, device.id),
      h("dt", {}, "address"), h("dd", {}, device.address),
      h("dt", {}, "driver"), h("dd", {}, device.driver),
      h("dt", {}, "last seen"), h("dd", {}, relative(device.last_seen))),
    h("button", { type: "button", class: "small ghost", onclick: () => setIgnored(device.id, true) }, "Ignore this device"));
  const card = h("article", {
    class: `device kind-${device.kind}${device.available ? "" : " unavailable"}`,
    dataset: { id: device.id, kind: device.kind, state: JSON.stringify(device.state) },
  },
  h("div", { class: "dev-head" },
    h("span", { class: `dot ${device.available ? "ok" : "off"}`, "aria-hidden": "true" }),
    h("span", { class: "name", title: `${device.name} (${words(device.kind)})` }, device.name),
    ...badges,
    primary ? control(device, primary) : null,
    h("button", { type: "button", class: "icon ghost", title: "Details", "aria-label": `${device.name} details`, onclick: () => { more.hidden = !more.hidden; } }, "⋯")),
  rest.length ? h("div", { class: "caps" }, rest.map((c) => control(device, c))) : null,
  more);
  return card;
}

function roomOf(device) { return device.room || "Elsewhere"; }

function renderRooms() {
  const rooms = new Map();
  const ignored = [];
  for (const device of state.devices.values()) {
    if (device.ignored) { ignored.push(device); continue; }
    const room = roomOf(device);
    if (!rooms.has(room)) rooms.set(room, []);
    rooms.get(room).push(device);
  }
  const names = [...rooms.keys()].sort((a, b) => (a === "Elsewhere") - (b === "Elsewhere") || a.localeCompare(b));
  const container = $("rooms");
  container.replaceChildren(...names.map((room) => {
    const devices = rooms.get(room).sort((a, b) => a.name.localeCompare(b.name));
    const on = devices.filter((d) => d.state.on === true).length;
    return h("section", { class: "room card", dataset: { room } },
      h("h3", {}, room, h("span", { class: "count" }, on ? `${on} on` : "")),
      devices.map(deviceCard));
  }));
  if (!names.length) container.replaceChildren(h("p", { class: "empty" }, "No devices yet: Claw adds them as it finds them on the network."));
  $("device-count").textContent = `${state.devices.size - ignored.length} devices`;
  renderIgnored(ignored);
  // for the benchmark: when the first full house was on screen (the frame after the DOM was built)
  if (!window.clawRendered) requestAnimationFrame(() => { window.clawRendered = window.clawRendered || performance.now(); });
}

function renderIgnored(ignored) {
  show("ignored-section", ignored.length > 0);
  $("ignored").replaceChildren(...ignored.sort((a, b) => a.name.localeCompare(b.name)).map((d) =>
    h("li", { dataset: { id: d.id } },
      h("span", { class: "name" }, d.name), " ", h("span", { class: "kind" }, `${words(d.kind)} · ${d.address}`), " ",
      h("button", { type: "button", class: "small", onclick: () => setIgnored(d.id, false) }, "Un-ignore"))));
}

function updateDevice(device) {
  const before = state.devices.get(device.id);
  state.devices.set(device.id, device);
  const old = document.querySelector(`.device[data-id="${CSS.escape(device.id)}"]`);
  if (!before || !old || before.room !== device.room || before.ignored !== device.ignored || before.name !== device.name) {
    renderRooms();
    return;
  }
  if (state.dragging.has(device.id)) return;  // the owner is moving a slider; the release re-sends anyway
  const card = deviceCard(device);
  const wasOpen = old.querySelector(".more-panel") && !old.querySelector(".more-panel").hidden;
  if (wasOpen) card.querySelector(".more-panel").hidden = false;
  old.replaceWith(card);
  const room = card.closest(".room");
  if (room) {
    const on = [...room.querySelectorAll(".device")].filter((el) => state.devices.get(el.dataset.id)?.state.on === true).length;
    room.querySelector("h3 .count").textContent = on ? `${on} on` : "";
  }
}

async function setValues(id, values) { await command(id, { values }); }
async function runAction(id, action, params) { await command(id, { action, params }); }

async function command(id, body) {
  const card = document.querySelector(`.device[data-id="${CSS.escape(id)}"]`);
  card?.classList.add("busy");
  try {
    const { status, data } = await api(`/api/devices/${encodeURIComponent(id)}`, { method: "POST", body });
    if (data.device) updateDevice(data.device);
    if (data.status === "held") {
      toast(`Waiting for OK ${data.code}: ${data.message}`, "warn");
      loadPending();
    } else if (status === 409) {
      toast(data.message || data.error, "warn");
    } else if (data.status === "already" || data.status === "done") {
      if (data.status === "already") toast(data.message);
    }
  } catch (error) {
    toast(error.message, "error");
    const device = state.devices.get(id);
    if (device) updateDevice({ ...device });  // put the control back where the device really is
  } finally {
    card?.classList.remove("busy");
  }
}

async function setIgnored(id, ignored) {
  try {
    const { data } = await api(`/api/devices/${encodeURIComponent(id)}/ignore`, { method: "POST", body: { ignored } });
    if (data.device) updateDevice(data.device);
    toast(data.status === "held" ? `Waiting for OK ${data.code}` : data.message, data.status === "held" ? "warn" : "info");
    if (data.status === "held") loadPending();
  } catch (error) { toast(error.message, "error"); }
}

async function loadDevices() {
  const { data } = await api("/api/devices");
  state.devices = new Map(data.map((d) => [d.id, d]));
  renderRooms();
}

// -- routines, kill switch, pending confirmations --------------------------------------------------

async function loadRoutines() {
  const { data } = await api("/api/routines");
  const box = $("routines");
  if (!data.length) { box.replaceChildren(h("p", { class: "empty" }, "No routines yet: add one in a skill file.")); return; }
  box.replaceChildren(...data.map((r) => h("button", {
    type: "button", class: "routine", title: r.description || r.triggers.join(", "),
    dataset: { routine: r.name },
    onclick: async (e) => {
      const button = e.currentTarget;
      button.disabled = true;
      try {
        const { status, data: out } = await api(`/api/routines/${encodeURIComponent(r.name)}/run`, { method: "POST" });
        toast(out.message, status === 409 ? "warn" : "info");
      } catch (error) { toast(error.message, "error"); }
      finally { button.disabled = false; }
    },
  }, h("span", { class: "routine-name" }, r.name), r.description ? h("span", { class: "routine-desc" }, r.description) : null)));
}

function renderPaused() {
  document.body.classList.toggle("paused", state.paused);
  $("paused-banner").hidden = !state.paused;
  const kill = $("kill");
  kill.setAttribute("aria-pressed", String(state.paused));
  kill.querySelector(".kill-text").textContent = state.paused ? "Paused — resume" : "Pause all";
  kill.title = state.paused ? "Automations and alerts are paused; click to resume" : "Pause every automation and alert";
}

async function setPaused(paused) {
  try {
    const { data } = await api("/api/killswitch", { method: "POST", body: { paused } });
    state.paused = data.paused;
    renderPaused();
    toast(state.paused ? "Paused: no automations or alerts until you resume." : "Automations and alerts resumed.", state.paused ? "warn" : "info");
  } catch (error) { toast(error.message, "error"); }
}

async function loadPending() {
  const { data } = await api("/api/pending");
  state.pending = data;
  renderPending();
}

function renderPending() {
  const now = Date.now() / 1000;
  const live = state.pending.filter((p) => p.expires > now);
  $("pending").replaceChildren(...live.map((p) => {
    const left = Math.max(0, Math.round(p.expires - now));
    return h("div", { class: "banner warn", dataset: { code: p.code }, title: `${p.prompt} Asked by ${p.requested_by} via ${p.path}.` },
      h("strong", {}, `Waiting for OK ${p.code}`), h("span", {}, `to ${p.description}`),
      h("span", { class: "muted" }, `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`),
      h("span", { class: "muted long" }, `an owner replies OK ${p.code} on WhatsApp or here`),
      h("button", { type: "button", class: "small", onclick: () => { $("chat-input").value = `OK ${p.code}`; $("chat-input").focus(); } }, "Reply in chat"));
  }));
}

// -- chat -------------------------------------------------------------------------------------------

function chatLine(role, text, media = [], extra = "") {
  const log = $("chat-log");
  log.querySelector(".empty")?.remove();
  const item = h("li", { class: `msg ${role} ${extra}` }, h("span", { class: "bubble" }, text,
    media.map((url) => h("img", { src: url, alt: "picture from Claw", loading: "lazy" }))));
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

async function loadChat() {
  const { data } = await api("/api/chat/history?limit=30");
  $("chat-log").replaceChildren();
  if (!data.length) $("chat-log").append(h("li", { class: "empty" }, "Same Claw as on WhatsApp: the same brain, the same memory. Try “sleepy time” or “is the garage open”."));
  for (const m of data) chatLine(m.role === "user" ? "me" : "claw", m.text, [], m.channel && m.channel !== "local" ? `via-${m.channel}` : "");
}

async function sendChat(event) {
  event.preventDefault();
  const input = $("chat-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  chatLine("me", text);
  const waiting = chatLine("claw", "…", [], "waiting");
  try {
    const { data } = await api("/api/chat", { method: "POST", body: { text } });
    waiting.remove();
    chatLine("claw", data.reply, data.media || []);
    loadPending();
  } catch (error) {
    waiting.remove();
    chatLine("claw", `(${error.message})`, [], "error");
  }
}

// -- cameras and events ------------------------------------------------------------------------------

function eventPicture(e) { return pick(e, "snapshot", "snapshot_url", "image", "picture", "url", "media"); }
function eventCamera(e) { return pick(e, "camera", "camera_name", "source") || "camera"; }
function eventTime(e) { return pick(e, "ts", "time", "started", "at", "created"); }

function eventItem(e) {
  const picture = eventPicture(e);
  const description = pick(e, "description", "text", "summary", "label") || "Something moved.";
  return h("li", { class: `event${e.notable === false ? " quiet" : ""}`, dataset: { id: e.id ?? "" } },
    picture ? h("img", { src: typeof picture === "string" ? picture : picture.url, alt: `snapshot from ${eventCamera(e)}`, loading: "lazy" }) : null,
    h("div", {},
      h("div", { class: "event-head" }, h("b", {}, eventCamera(e)), " ", h("time", {}, clock(eventTime(e)))),
      h("p", { class: "description" }, description)));
}

function renderCameras(cameras) {
  const tiles = new Map();
  for (const c of cameras || []) tiles.set(pick(c, "name", "camera", "id"), { name: pick(c, "name", "camera", "id"), picture: pick(c, "snapshot", "snapshot_url", "image", "url"), at: pick(c, "ts", "last_event", "updated"), status: pick(c, "status", "state") });
  const seen = new Set();
  for (const e of state.events) {  // newest first: each camera's newest picture wins over an older tile
    const name = eventCamera(e);
    if (seen.has(name) || !eventPicture(e)) continue;
    seen.add(name);
    const tile = tiles.get(name);
    if (!tile || !tile.picture || (when(eventTime(e)) || 0) >= (when(tile.at) || 0)) {
      tiles.set(name, { name, picture: eventPicture(e), at: eventTime(e), status: tile?.status });
    }
  }
  show("cameras-section", tiles.size > 0 || state.sections.has("events"));
  $("cameras").replaceChildren(...[...tiles.values()].map((t) => h("figure", { class: "tile", dataset: { camera: t.name } },
    t.picture ? h("img", { src: typeof t.picture === "string" ? t.picture : t.picture.url, alt: `latest from ${t.name}` }) : h("div", { class: "no-picture" }, "no picture yet"),
    h("figcaption", {}, h("b", {}, t.name), " ", t.status ? h("span", { class: "muted" }, t.status) : null,
      t.status && t.at ? h("span", { class: "muted" }, " · ") : null, h("span", { class: "muted when" }, t.at ? relative(t.at) : "")))));
  $("events").replaceChildren(...(state.events.length ? state.events.slice(0, 30).map(eventItem) : [h("li", { class: "empty" }, "No camera events yet.")]));
}

async function loadEvents() {
  const wanted = state.sections.has("events");
  state.cameras = state.sections.has("cameras") ? (await api("/api/cameras")).data : [];
  if (wanted) {
    const { data } = await api("/api/events");
    const list = Array.isArray(data) ? data : (data.events || []);
    state.events = list.slice().sort((a, b) => (when(eventTime(b)) || 0) - (when(eventTime(a)) || 0));
  }
  renderCameras(state.cameras);
}

function addEvent(e) {
  if (e.id !== undefined && state.events.some((x) => x.id === e.id)) return;
  state.events.unshift(e);
  state.events = state.events.slice(0, 100);
  renderCameras(state.cameras);
}

// -- notifications ------------------------------------------------------------------------------------

function feedItem(n) {
  return h("li", { class: `note kind-${n.kind}`, dataset: { id: n.id } },
    h("div", { class: "note-head" }, h("span", { class: `badge ${n.kind}` }, n.kind), " ", h("time", {}, clock(n.ts))),
    h("p", {}, n.text),
    (n.media || []).map((m) => h("img", { src: m.url, alt: m.caption || "picture", loading: "lazy" })));
}

async function loadFeed() {
  const { data } = await api("/api/notifications");
  $("feed").replaceChildren(...(data.length ? data.map(feedItem) : [h("li", { class: "empty" }, "Nothing yet.")]));
}

function addNotification(n) {
  const feed = $("feed");
  feed.querySelector(".empty")?.remove();
  if (feed.querySelector(`[data-id="${CSS.escape(n.id)}"]`)) return;
  feed.prepend(feedItem(n));
  while (feed.children.length > 60) feed.lastChild.remove();
  if (n.kind === "confirm") loadPending();
  if (n.kind === "alert") toast(n.text, "warn");
}

// -- jobs, audit, skills, outbox -----------------------------------------------------------------------

function renderJobs(jobs) {
  const list = Array.isArray(jobs) ? jobs : (jobs.jobs || []);
  if (!list.length) { $("jobs").replaceChildren(h("p", { class: "empty" }, "No scheduled jobs. Ask Claw: “every weekday at 7 run good morning”.")); return; }
  $("jobs").replaceChildren(h("div", { class: "scroll" }, h("table", { class: "jobs" },
    h("thead", {}, h("tr", {}, ["Job", "When", "Next run", "Last", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, list.map((job) => {
      const history = pick(job, "history", "runs") || [];
      const next = pick(job, "next_run", "next", "next_run_time");
      const status = pick(job, "last_status", "status") || "";
      return h("tr", { dataset: { job: job.id ?? "" }, class: job.enabled === false ? "disabled" : "" },
        h("td", {}, h("b", {}, pick(job, "description", "name", "id") || "job"), h("div", { class: "muted" }, pick(job, "what", "action", "words") || "")),
        h("td", { title: pick(job, "schedule") || "" }, pick(job, "when", "schedule", "trigger") || ""),
        h("td", {}, next ? `${clock(next).replaceAll(" ", NBSP)} (${relative(next)})` : "—"),  // breaks only before "("
        h("td", {}, status ? h("span", { class: `badge ${status}` }, status) : "—", pick(job, "failures") ? h("span", { class: "muted" }, ` ×${job.failures}`) : null),
        h("td", {}, history.length ? h("details", {}, h("summary", {}, `${history.length} runs`),
          h("ol", { class: "runs" }, history.slice(0, 20).map((run) => h("li", {},
            h("span", { class: `badge ${run.status}` }, run.status), " ", clock(pick(run, "started", "scheduled", "ts")), " ",
            h("span", { class: "muted" }, run.detail || ""))))) : ""));
    })))));
}

async function loadJobs() {
  if (!state.sections.has("jobs")) return;
  show("jobs-section", true);
  renderJobs((await api("/api/jobs")).data);
}

function auditRow(row) {
  return h("tr", { dataset: { id: row.id }, class: `outcome-${row.outcome}` },
    h("td", {}, clock(row.ts)), h("td", {}, row.actor), h("td", { class: "path" }, row.path), h("td", {}, row.action),
    h("td", {}, row.target), h("td", {}, h("span", { class: `badge ${row.outcome}` }, row.outcome)), h("td", { class: "detail" }, row.detail));
}

async function loadAudit() {
  const { data } = await api("/api/audit?limit=100");
  state.audit = new Map(data.map((r) => [r.id, r]));
  $("audit").replaceChildren(...data.map(auditRow));
}

function addAudit(row) {
  if (state.audit.has(row.id)) return;
  state.audit.set(row.id, row);
  const body = $("audit");
  body.prepend(auditRow(row));
  while (body.children.length > 200) body.lastChild.remove();
  if (["held", "confirmed", "denied"].includes(row.outcome)) loadPending();
}

async function loadSkills() {
  if (!state.sections.has("skills")) return;
  show("skills-section", true);
  const { data } = await api("/api/skills");
  const list = Array.isArray(data) ? data : (data.skills || []);
  $("skills").replaceChildren(...(list.length ? list.map((s) => {
    const errors = [].concat(pick(s, "errors", "error") || []);
    const status = errors.length ? "error" : s.available === false ? "unavailable" : s.active === false ? "inactive" : pick(s, "status") || "ok";
    const notes = [s.reason, s.running_last_good ? "running the last good version" : "",
      // the pairing steps only once a device of this skill is seen and not yet paired, naming it
      (s.waiting_for_pairing || []).length ? `${s.waiting_for_pairing.join(", ")} waits for pairing: ${[].concat(s.pairing || []).join(" ")}` : ""].filter(Boolean);
    return h("li", { class: errors.length ? "bad" : "good", dataset: { skill: pick(s, "name", "id") || "" } },
      h("b", {}, pick(s, "name", "id") || "skill"), " ",
      h("span", { class: `badge ${errors.length ? "failed" : status === "ok" ? "ok" : "warn"}` }, status), " ",
      h("span", { class: "muted" }, pick(s, "description", "source", "path") || ""),
      notes.map((n) => h("div", { class: "muted" }, n)),
      errors.map((e) => h("div", { class: "error-text" }, typeof e === "string" ? e : pick(e, "message", "error") || JSON.stringify(e))));
  }) : [h("li", { class: "empty" }, "No skills loaded.")]));
}

async function loadOutbox() {
  if (!state.sections.has("outbox")) return;
  show("outbox-section", true);
  const { data } = await api("/api/outbox");
  const counts = data.counts || {};
  const table = (rows, empty) => rows && rows.length ? h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["When", "To", "Message", "Status", "Tries", "Error"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, clock(r.updated || r.created)), h("td", {}, r.recipient),
      h("td", { class: "detail" }, r.title || r.body), h("td", {}, h("span", { class: `badge ${r.status}` }, r.status)),
      h("td", {}, r.attempts), h("td", { class: "detail" }, r.error || "")))))) : h("p", { class: "empty" }, empty);
  $("outbox").replaceChildren(
    h("div", { class: "chips" }, Object.entries(counts).map(([k, v]) => h("span", { class: `chip badge ${k}` }, `${k}: ${v}`))),
    h("h3", {}, "Dead letters"), table(data.dead, "None: every message got through or is still trying."),
    h("details", {}, h("summary", {}, "Recent messages"), table(data.recent, "Nothing sent yet.")));
}

// -- live updates -----------------------------------------------------------------------------------------

function connect() {
  const live = $("live");
  const source = new EventSource("/api/stream");
  let opened = false;
  source.addEventListener("hello", () => {
    live.textContent = "live";
    live.className = "live on";
    if (opened) loadAll();  // back after a gap: fetch what we missed
    opened = true;
  });
  source.addEventListener("device", (e) => updateDevice(JSON.parse(e.data).device));
  source.addEventListener("notification", (e) => addNotification(JSON.parse(e.data)));
  source.addEventListener("event", (e) => addEvent(JSON.parse(e.data)));
  source.addEventListener("audit", (e) => addAudit(JSON.parse(e.data)));
  source.addEventListener("killswitch", (e) => { state.paused = JSON.parse(e.data).paused; renderPaused(); });
  source.addEventListener("jobs", () => loadJobs());
  source.addEventListener("reset", () => loadAll());
  source.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
}

async function loadAll() {
  // the house first, in parallel with the overview; the optional sections once we know they exist
  const always = [loadDevices(), loadRoutines(), loadPending(), loadAudit(), loadFeed()];
  const { data } = await api("/api/overview");
  state.sections = new Set(data.sections);
  state.paused = data.paused;
  state.actor = data.actor;
  renderPaused();
  for (const link of document.querySelectorAll("[data-needs]")) link.hidden = !state.sections.has(link.dataset.needs);
  const results = await Promise.allSettled([...always, loadEvents(), loadJobs(), loadSkills(), loadOutbox()]);
  for (const r of results) if (r.status === "rejected") console.warn(r.reason);
}

function start() {
  if (location.search.includes("token=")) {
    // the token now lives in an HttpOnly cookie: keep it out of the address bar, history and screenshots
    history.replaceState(null, "", location.pathname + location.hash);
  }
  $("kill").addEventListener("click", () => setPaused(!state.paused));
  $("resume").addEventListener("click", () => setPaused(false));
  $("chat-form").addEventListener("submit", sendChat);
  connect();
  loadAll().catch((error) => toast(`Could not load the house: ${error.message}`, "error"));
  loadChat().catch(() => {});
  setInterval(renderPending, 1000);
  setInterval(() => { loadJobs(); loadSkills(); loadOutbox(); }, 30000);
}

document.addEventListener("DOMContentLoaded", start);
