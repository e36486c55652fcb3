/* The dashboard's Memory page and "Why" timeline: what Claw believes (each fact with its source),
   searched, edited, forgotten and brought back; and what happened in the house, each with its cause.
   Uses app.js's helpers (h, $, api, toast, clock). Every text is set with textContent. */
"use strict";

const memory = { query: "", undo: null };  // undo: {id, text} of the last fact edited or forgotten

function factSource(f) {
  const s = f.source || {};
  const from = [s.author, s.channel].filter(Boolean).join(" · ");
  const said = s.message ? h("blockquote", { class: "said" }, `“${s.message.text}”`, h("span", { class: "muted" }, ` — ${s.message.sender || s.author}, ${clock(s.message.ts)}`)) : null;
  return [h("div", { class: "muted source" }, `${from}${from ? ", " : ""}since ${clock(f.valid_from)}`), said];
}

function factItem(f) {
  const text = h("span", { class: "fact-text" }, f.text);
  const tags = [f.household ? "household" : "personal", f.kind === "preference" ? "preference" : null].filter(Boolean);
  const item = h("li", { class: "fact", dataset: { id: f.id } },
    h("div", { class: "fact-line" }, text, " ", tags.map((t) => h("span", { class: "badge" }, t)),
      f.matched ? h("span", { class: "muted score", title: "rank by words / by meaning (0: not found that way)" },
        ` words #${f.matched.words || "–"} · meaning #${f.matched.meaning || "–"}`) : null),
    factSource(f),
    h("div", { class: "buttons" },
      h("button", { type: "button", class: "small", "data-act": "edit", onclick: () => editFact(f, item) }, "Edit"),
      h("button", { type: "button", class: "small ghost", "data-act": "forget", onclick: () => forgetFact(f) }, "Forget")));
  return item;
}

function editFact(f, item) {
  const input = h("input", { type: "text", value: f.text, maxlength: "300", "aria-label": "The fact's new words" });
  const save = async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || text === f.text) { loadMemory(); return; }
    try {
      const { status, data } = await api(`/api/memory/${f.id}`, { method: "PATCH", body: { text } });
      if (status === 409) { toast(data.error || "That fact changed meanwhile.", "error"); loadMemory(); return; }
      setUndo(f.id, `Changed to “${text}”.`);
      loadMemory();
    } catch (error) { toast(`Could not change it: ${error.message}`, "error"); }
  };
  item.replaceChildren(h("form", { class: "fact-edit", onsubmit: save }, input,
    h("button", { type: "submit", class: "small" }, "Save"),
    h("button", { type: "button", class: "small ghost", onclick: () => loadMemory() }, "Cancel")));
  input.focus();
}

async function forgetFact(f) {
  try {
    await api(`/api/memory/${f.id}`, { method: "DELETE" });
    setUndo(f.id, `Forgot “${f.text}”.`);
    loadMemory();
  } catch (error) { toast(`Could not forget it: ${error.message}`, "error"); }
}

function setUndo(id, said) {
  memory.undo = { id, said };
  renderUndo();
}

function renderUndo() {
  const bar = $("memory-undo");
  if (!memory.undo) { bar.hidden = true; return; }
  bar.hidden = false;
  bar.replaceChildren(h("span", {}, memory.undo.said), " ",
    h("button", { type: "button", class: "small", id: "memory-undo-button", onclick: undoLast }, "Undo"));
}

async function undoLast() {
  const last = memory.undo;
  if (!last) return;
  try {
    const { data } = await api(`/api/memory/${last.id}/restore`, { method: "POST" });
    toast(data.message || "Undone.");
    memory.undo = null;
    renderUndo();
    loadMemory();
  } catch (error) { toast(`Could not undo: ${error.message}`, "error"); }
}

async function loadMemory() {
  const q = memory.query ? `?q=${encodeURIComponent(memory.query)}&limit=30` : "?limit=30";
  const { data } = await api(`/api/memory${q}`);
  $("memory-mode").textContent = data.mode;
  $("memory").replaceChildren(...(data.facts.length ? data.facts.map(factItem)
    : [h("li", { class: "empty" }, memory.query ? "Nothing like that in memory." : "Nothing remembered yet.")]));
}

function timelineItem(e) {
  return h("li", { class: `why ${e.kind}`, dataset: { id: e.id } },
    h("span", { class: "when" }, clock(e.ts)), " ",
    h("b", {}, e.target || e.kind), " ", h("span", {}, e.what), " ",
    h("span", { class: `badge ${e.outcome}` }, e.outcome), " ",
    h("span", { class: "cause" }, `← ${e.cause}`));
}

async function loadTimeline() {
  const { data } = await api("/api/timeline?hours=48&limit=60");
  $("timeline").replaceChildren(...(data.entries.length ? data.entries.map(timelineItem)
    : [h("li", { class: "empty" }, "Nothing happened in the last two days.")]));
}

function startMemory() {
  $("memory-form").addEventListener("submit", (event) => {
    event.preventDefault();
    memory.query = $("memory-q").value.trim();
    loadMemory().catch((error) => toast(`Could not search memory: ${error.message}`, "error"));
  });
  loadMemory().catch(() => {});
  loadTimeline().catch(() => {});
  setInterval(() => loadTimeline().catch(() => {}), 15000);
}

document.addEventListener("DOMContentLoaded", startMemory);
