// The coatnet-edge status page: polls /api/status, shows each camera's
// live MJPEG with its regions over it, and, where the configuration file
// has cameras:, edits regions through the API. No framework, no build step.
"use strict";

const POLL_MS = 1500;
const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const MIN_SIZE = 0.02; // a drawn region smaller than this (a click) is no region

let status = null;       // the last /api/status
let editing = false;     // the "Edit regions" mode
let draft = null;        // the region being edited: {camera, name, rect: [x0, y0, x1, y1], model, isNew}
let drag = null;         // the pointer gesture on a draft: {mode, start, rect, id}
const views = new Map(); // camera name -> its section's elements

const $ = (sel, root = document) => root.querySelector(sel);
const clamp = (v) => Math.min(1, Math.max(0, v));
const round4 = (v) => Math.round(v * 1e4) / 1e4;

function text(el, s) { if (el.textContent !== s) el.textContent = s; }

function fmt(v, digits, unit) {
  return typeof v === "number" && isFinite(v) ? v.toFixed(digits) + unit : "n/a";
}

function ago(iso) {
  const t = Date.parse(iso);
  if (!isFinite(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 90) return s + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

function say(id, msg) {
  const el = document.getElementById(id);
  el.textContent = msg || "";
  if (id !== "notice") el.hidden = !msg;
}

// apiError is the message of a failed response: the API's {"error": ...}
// where there is one.
async function apiError(r) {
  let msg = r.status + " " + r.statusText;
  try {
    const body = await r.json();
    if (body && body.error) msg = body.error;
  } catch (_) { /* not JSON */ }
  if (r.status === 401) msg += " (log in with the credentials of the agent's http.auth_file)";
  return msg;
}

async function poll() {
  try {
    const r = await fetch("/api/status", { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(await apiError(r));
    status = await r.json();
    say("offline", "");
    render();
  } catch (e) {
    say("offline", "No status from the agent: " + e.message);
  }
  setTimeout(poll, POLL_MS);
}

function render() {
  const s = status;
  text($("#device"), s.device || "coatnet-edge");
  document.title = (s.device || "coatnet-edge") + " · coatnet-edge";
  const m = s.model || {};
  text($("#model"), m.name ? m.name + (m.sha256 ? " (" + m.sha256.slice(0, 12) + ")" : "") : "n/a");
  text($("#kernels"), m.kernels || "n/a");
  text($("#rate"), fmt(s.classify_per_s, 1, " /s") + (s.paused ? " (paused)" : ""));
  text($("#latency"), fmt(s.inference_p50_ms, 1, " ms") + " / " + fmt(s.inference_p99_ms, 1, " ms"));
  text($("#temperature"), fmt(s.temperature_c, 1, " °C") + (s.throttled ? " (throttled)" : ""));
  const mq = s.mqtt || {};
  const mqtt = $("#mqtt");
  text(mqtt, (mq.connected ? "connected" : "not connected") + (mq.broker ? " to " + mq.broker : ""));
  mqtt.className = mq.connected ? "good" : "bad";
  text($("#uptime"), fmt(s.uptime_s / 60, 1, " min"));
  const edit = $("#edit");
  edit.hidden = !s.editable;
  if (!s.editable && editing) setEditing(false);

  const seen = new Set();
  for (const cam of s.cameras || []) {
    seen.add(cam.name);
    let v = views.get(cam.name);
    if (!v) {
      v = makeView(cam.name);
      views.set(cam.name, v);
      $("#cameras").append(v.root);
    }
    renderCamera(v, cam);
  }
  for (const [name, v] of views) {
    if (!seen.has(name)) { v.root.remove(); views.delete(name); }
  }
}

function makeView(name) {
  const root = $("#camera").content.firstElementChild.cloneNode(true);
  const v = {
    name, root,
    img: $(".stream", root), view: $(".view", root), overlay: $(".overlay", root),
    form: $(".editor", root), tbody: $(".regions tbody", root), labels: $(".labels", root),
    rows: new Map(), boxes: document.createElement("div"), draftEl: null,
  };
  v.boxes.className = "boxes";
  v.draftEl = makeDraftEl(v);
  v.overlay.append(v.boxes, v.draftEl);
  root.setAttribute("aria-label", "Camera " + name);
  text($(".name", root), name);
  v.img.alt = "Live view of camera " + name;
  // A stream that breaks (the agent restarting, too many viewers) is
  // opened again a little later.
  v.img.addEventListener("error", () => {
    setTimeout(() => { if (v.stream) v.img.src = v.stream + "?retry=" + Date.now(); }, 3000);
  });
  v.overlay.addEventListener("pointerdown", (e) => pointerDown(v, e));
  v.overlay.addEventListener("pointermove", (e) => pointerMove(v, e));
  v.overlay.addEventListener("pointerup", (e) => pointerUp(v, e));
  v.overlay.addEventListener("pointercancel", (e) => pointerUp(v, e));
  v.form.addEventListener("submit", (e) => { e.preventDefault(); save(v); });
  v.form.addEventListener("input", () => fromForm(v));
  $(".new", root).addEventListener("click", () => {
    startDraft(v, { name: freeName(v.name), rect: [0.25, 0.25, 0.75, 0.75], model: "", isNew: true });
    v.draftEl.focus();
  });
  $(".delete", root).addEventListener("click", () => remove(v));
  $(".cancel", root).addEventListener("click", () => { draft = null; renderAll(); });
  return v;
}

function camera(name) {
  return (status && status.cameras || []).find((c) => c.name === name);
}

function renderAll() { if (status) render(); }

function renderCamera(v, cam) {
  if (cam.stream !== v.stream) {
    v.stream = cam.stream;
    v.img.src = cam.stream;
  }
  if (cam.width && cam.height) v.view.style.aspectRatio = cam.width + " / " + cam.height;
  const motion = $(".motion", v.root);
  text(motion, cam.motion ? "motion" : "");
  motion.classList.toggle("on", !!cam.motion);
  const avail = $(".avail", v.root);
  text(avail, cam.available === false ? "no frames" : "");
  avail.classList.toggle("bad", cam.available === false);
  renderRows(v, cam.regions || []);
  $(".regions", v.root).hidden = !(cam.regions || []).length && !!(cam.labels || []).length;
  renderLabels(v, cam.labels || []);
  if (!drag) renderOverlay(v, cam.regions || []);
  renderForm(v);
}

function renderRows(v, regions) {
  const names = new Set(regions.map((r) => r.name));
  for (const [name, tr] of v.rows) {
    if (!names.has(name)) { tr.remove(); v.rows.delete(name); }
  }
  let at = v.tbody.firstElementChild;
  for (const r of regions) {
    let tr = v.rows.get(r.name);
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.region = r.name;
      tr.innerHTML = '<th scope="row" class="region-name"></th><td class="label"></td><td class="score"></td>' +
        '<td class="since"></td><td class="snap"><img class="thumb" hidden></td>' +
        '<td class="editcol"><button type="button">Edit</button></td>';
      text($(".region-name", tr), r.name);
      const img = $(".thumb", tr);
      img.alt = "Region " + r.name + " at its last change";
      img.addEventListener("load", () => { img.hidden = false; });
      img.addEventListener("error", () => { img.hidden = true; });
      const btn = $("button", tr);
      btn.setAttribute("aria-label", "Edit region " + r.name);
      btn.addEventListener("click", () => editExisting(v, r.name));
      v.rows.set(r.name, tr);
    }
    // The status's order, moving only rows out of place: a moved row is
    // a removed and re-inserted node, which loses a click or a text
    // selection in it (and a browser test's handle on it).
    if (tr === at) at = tr.nextElementSibling;
    else v.tbody.insertBefore(tr, at);
    const st = r.state;
    tr.dataset.label = st ? st.label : "";
    text($(".label", tr), st ? st.label : "no state yet");
    text($(".score", tr), st ? st.score.toFixed(2) : "");
    const since = $(".since", tr);
    text(since, st ? ago(st.since) : "");
    since.title = st ? new Date(st.since).toLocaleString() : "";
    const img = $(".thumb", tr);
    const src = st && r.snapshot ? r.snapshot + "?since=" + encodeURIComponent(st.since) : "";
    if (src && img.getAttribute("src") !== src) img.src = src;
  }
}

function renderLabels(v, labels) {
  const s = labels.map((l) => l.label + " " + l.score.toFixed(2)).join("|");
  if (v.labels.dataset.shown === s) return;
  v.labels.dataset.shown = s;
  v.labels.replaceChildren(...labels.map((l) => {
    const li = document.createElement("li");
    li.textContent = l.label + " " + l.score.toFixed(2);
    return li;
  }));
}

function place(el, rect) {
  el.style.left = rect[0] * 100 + "%";
  el.style.top = rect[1] * 100 + "%";
  el.style.width = (rect[2] - rect[0]) * 100 + "%";
  el.style.height = (rect[3] - rect[1]) * 100 + "%";
}

// renderOverlay draws the status's regions over the picture, and the
// draft, which stays the same element (keeping its focus) across polls.
function renderOverlay(v, regions) {
  const mine = draft && draft.camera === v.name ? draft : null;
  // A region in pixels has no rect before the first frame gives the size.
  const boxes = regions.filter((r) => r.rect && !(mine && !mine.isNew && r.name === mine.name)).map((r) => {
    const el = document.createElement("div");
    el.className = "region";
    el.dataset.region = r.name;
    place(el, r.rect);
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = r.name + (r.state ? ": " + r.state.label + " " + r.state.score.toFixed(2) : "");
    el.append(tag);
    return el;
  });
  v.boxes.replaceChildren(...boxes);
  v.draftEl.hidden = !mine;
  if (!mine) return;
  place(v.draftEl, mine.rect);
  text($(".tag", v.draftEl), mine.name || "new region");
  v.draftEl.setAttribute("aria-label", "Region " + (mine.name || "new") +
    " being edited; arrow keys move it, shift with arrow keys resizes it, escape cancels");
}

function makeDraftEl(v) {
  const el = document.createElement("div");
  el.className = "region draft";
  el.tabIndex = 0;
  el.hidden = true;
  el.setAttribute("role", "group");
  el.innerHTML = '<span class="tag"></span><span class="handle nw"></span><span class="handle ne"></span>' +
    '<span class="handle sw"></span><span class="handle se"></span>';
  el.addEventListener("keydown", (e) => keyMove(v, e));
  return el;
}

function renderForm(v) {
  const f = v.form;
  const mine = editing && draft && draft.camera === v.name;
  f.hidden = !editing;
  for (const el of f.querySelectorAll("input, select, .save, .delete, .cancel")) el.disabled = !mine;
  const sel = f.elements.model;
  const models = (status && status.models) || [];
  const key = models.join("\n");
  if (sel.dataset.models !== key) {
    sel.dataset.models = key;
    sel.replaceChildren(new Option("default (model.path)", ""), ...models.map((m) => new Option(m.split("/").pop(), m)));
    for (let i = 1; i < sel.options.length; i++) sel.options[i].title = models[i - 1];
  }
  if (!mine) {
    for (const el of f.querySelectorAll("input")) el.value = "";
    sel.value = "";
    return;
  }
  const active = document.activeElement;
  const set = (el, val) => { if (el !== active) el.value = val; };
  set(f.elements.name, draft.name);
  f.elements.name.readOnly = !draft.isNew;
  // Without a model the API keeps an existing region's and gives a new
  // one model.path.
  sel.options[0].text = draft.isNew ? "default (model.path)" : "unchanged";
  set(sel, models.includes(draft.model) ? draft.model : "");
  ["x0", "y0", "x1", "y1"].forEach((k, i) => set(f.elements[k], round4(draft.rect[i]).toString()));
  $(".delete", f).disabled = draft.isNew;
}

// fromForm takes what was typed into the form into the draft.
function fromForm(v) {
  if (!draft || draft.camera !== v.name) return;
  const f = v.form.elements;
  if (draft.isNew) draft.name = f.name.value.trim();
  draft.model = f.model.value;
  const r = ["x0", "y0", "x1", "y1"].map((k) => parseFloat(f[k].value));
  if (r.every(isFinite)) draft.rect = normal(r);
  renderAll();
}

function setEditing(on) {
  editing = on;
  draft = null;
  document.body.classList.toggle("editing", on);
  const b = $("#edit");
  b.setAttribute("aria-pressed", String(on));
  b.textContent = on ? "Done editing" : "Edit regions";
  say("error", "");
  renderAll();
}

function freeName(cam) {
  const c = camera(cam);
  const taken = new Set((c && c.regions || []).map((r) => r.name));
  for (let i = 1; ; i++) if (!taken.has("region" + i)) return "region" + i;
}

function startDraft(v, d) {
  draft = Object.assign({ camera: v.name }, d);
  say("error", "");
  renderAll();
}

function editExisting(v, name) {
  const c = camera(v.name);
  const r = c && (c.regions || []).find((x) => x.name === name);
  if (!r || !r.rect) return;
  startDraft(v, { name, rect: r.rect.slice(), model: r.model || "", isNew: false });
  v.draftEl.focus();
}

// point is the pointer's position as fractions of the picture.
function point(v, e) {
  const b = v.overlay.getBoundingClientRect();
  return [clamp((e.clientX - b.left) / b.width), clamp((e.clientY - b.top) / b.height)];
}

function normal(r) {
  return [Math.min(r[0], r[2]), Math.min(r[1], r[3]), Math.max(r[0], r[2]), Math.max(r[1], r[3])].map(clamp);
}

function pointerDown(v, e) {
  if (!editing || e.button !== 0) return;
  e.preventDefault();
  const p = point(v, e);
  const t = e.target;
  const mine = draft && draft.camera === v.name;
  if (mine && t.classList.contains("handle")) {
    const c = t.classList;
    // The corner opposite the handle stays; the handle's follows the pointer.
    const fixed = [c.contains("nw") || c.contains("sw") ? draft.rect[2] : draft.rect[0],
      c.contains("nw") || c.contains("ne") ? draft.rect[3] : draft.rect[1]];
    drag = { mode: "resize", fixed };
  } else if (mine && t.closest(".draft")) {
    drag = { mode: "move", start: p, rect: draft.rect.slice() };
  } else if (t.closest(".region")) {
    editExisting(v, t.closest(".region").dataset.region);
    if (!draft) return;
    drag = { mode: "move", start: p, rect: draft.rect.slice() };
  } else {
    startDraft(v, { name: freeName(v.name), rect: [p[0], p[1], p[0], p[1]], model: "", isNew: true });
    drag = { mode: "resize", fixed: p };
  }
  drag.id = e.pointerId;
  v.overlay.setPointerCapture(e.pointerId);
  v.draftEl.focus();
}

function pointerMove(v, e) {
  if (!drag || e.pointerId !== drag.id) return;
  const p = point(v, e);
  if (drag.mode === "resize") {
    draft.rect = normal([drag.fixed[0], drag.fixed[1], p[0], p[1]]);
  } else {
    const r = drag.rect;
    const dx = Math.min(1 - r[2], Math.max(-r[0], p[0] - drag.start[0]));
    const dy = Math.min(1 - r[3], Math.max(-r[1], p[1] - drag.start[1]));
    draft.rect = [r[0] + dx, r[1] + dy, r[2] + dx, r[3] + dy];
  }
  place(v.draftEl, draft.rect);
  renderForm(v);
}

function pointerUp(v, e) {
  if (!drag || e.pointerId !== drag.id) return;
  const drawn = drag.mode === "resize" && draft.isNew;
  drag = null;
  const r = draft.rect;
  if (draft.isNew && (r[2] - r[0] < MIN_SIZE || r[3] - r[1] < MIN_SIZE)) draft = null;
  renderAll();
  if (draft && drawn) {
    // A region just drawn wants a name: typing replaces the suggested one.
    const name = v.form.elements.name;
    name.focus();
    name.select();
  }
}

function keyMove(v, e) {
  if (e.key === "Escape") {
    draft = null;
    renderAll();
    return;
  }
  const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
  if (!step || !draft) return;
  e.preventDefault();
  const d = 0.01;
  const r = draft.rect.slice();
  if (e.shiftKey) {
    r[2] = clamp(Math.max(r[0] + MIN_SIZE, r[2] + step[0] * d));
    r[3] = clamp(Math.max(r[1] + MIN_SIZE, r[3] + step[1] * d));
  } else {
    const dx = Math.min(1 - r[2], Math.max(-r[0], step[0] * d));
    const dy = Math.min(1 - r[3], Math.max(-r[1], step[1] * d));
    r[0] += dx; r[2] += dx; r[1] += dy; r[3] += dy;
  }
  draft.rect = r;
  renderAll();
}

function regionURL(cam, name) {
  return "/api/cameras/" + encodeURIComponent(cam) + "/regions/" + encodeURIComponent(name);
}

async function send(method, cam, name, body) {
  const init = {
    method, credentials: "same-origin", cache: "no-store",
    headers: { "X-CSRF-Token": status.csrf },
  };
  if (body) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(regionURL(cam, name), init);
  if (!r.ok) throw new Error(await apiError(r));
  return r.json();
}

async function save(v) {
  if (!draft || draft.camera !== v.name) return;
  const d = draft;
  if (!NAME.test(d.name)) {
    say("error", "A region's name is 1 to 32 lower-case letters, digits, - or _, starting with a letter or digit.");
    return;
  }
  const r = d.rect;
  if (r[2] - r[0] < MIN_SIZE || r[3] - r[1] < MIN_SIZE) {
    say("error", "Region " + d.name + " is too small: draw it larger.");
    return;
  }
  const body = { rect: r.map(round4) };
  if (d.model) body.model = d.model;
  say("notice", "Saving region " + d.name + "…");
  try {
    const res = await send("PUT", v.name, d.name, body);
    say("error", "");
    say("notice", "Saved region " + d.name + " of camera " + v.name + (res.saved ? " to " + res.saved : ""));
    if (draft === d) draft = null;
    await refresh();
  } catch (e) {
    say("notice", "");
    say("error", "Saving region " + d.name + " failed: " + e.message);
  }
}

async function remove(v) {
  if (!draft || draft.camera !== v.name || draft.isNew) return;
  const d = draft;
  say("notice", "Deleting region " + d.name + "…");
  try {
    const res = await send("DELETE", v.name, d.name);
    say("error", "");
    say("notice", "Deleted region " + d.name + " of camera " + v.name + (res.saved ? " from " + res.saved : ""));
    if (draft === d) draft = null;
    await refresh();
  } catch (e) {
    say("notice", "");
    say("error", "Deleting region " + d.name + " failed: " + e.message);
  }
}

// refresh shows the status at once after a change.
async function refresh() {
  const r = await fetch("/api/status", { credentials: "same-origin", cache: "no-store" });
  if (r.ok) { status = await r.json(); render(); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#edit").addEventListener("click", () => setEditing(!editing));
  poll();
});
