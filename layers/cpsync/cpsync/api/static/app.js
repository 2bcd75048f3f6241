// cpsync sync interface: plain JavaScript over the JSON API, no build step.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
// `session` counts sign-ins and sign-outs: a 401 to a request sent under an earlier one (a
// refresh that left before "Sign out") must not send the user who just signed in back out.
const state = { tasks: [], current: null, page: "dashboard", zone: undefined, session: 0 };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

function say(text, kind = "ok") {
  const box = $("#message");
  box.textContent = text;
  box.className = "message " + kind;
  box.hidden = !text;
}

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(method, path, body) {
  const session = state.session;
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    // Relative to the page, so the interface also works under a path prefix (/cpsync/).
    response = await fetch(path.replace(/^\//, ""), options);
  } catch (e) {
    throw new ApiError(0, "cpsync did not answer. Is it running?");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : "Something went wrong (HTTP " + response.status + ").";
    if (response.status === 401 && path !== "/api/session" && session === state.session) {
      showSignIn(detail);
    }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 202 && data.job) return followJob(data.job);
  return data;
}

// A manual action answers 202 with a job at once; the job runs where Counterpoint is (this
// server, the task's Lambda, or the agent in the store). Poll it, say it is still working
// when it takes a while, and answer as the action itself would have.
const RUNNERS = { local: "cpsync", lambda: "the task's function in AWS", agent: "the agent in the store" };
async function followJob(job) {
  const started = Date.now();
  let delay = 250;
  while (job.status === "queued" || job.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 2000);
    job = await api("GET", `/api/jobs/${encodeURIComponent(job.id)}`);
    const seconds = Math.round((Date.now() - started) / 1000);
    if (seconds >= 3 && !["done", "failed"].includes(job.status)) {
      say(`Working (${seconds} s): ${job.status === "queued" ? "waiting for" : "running on"} ${RUNNERS[job.runner] || job.runner}…`, "info");
    }
  }
  if (job.status === "failed") {
    const error = job.error || {};
    throw new ApiError(error.status || 500, error.detail || "The action failed.");
  }
  return job.result;
}

// How to find a button again after the page re-rendered it (to give focus back).
function findAgain(button) {
  if (button.id) return "#" + CSS.escape(button.id);
  if (button.dataset.action) return `#task-panel [data-action="${button.dataset.action}"]`;
  const label = button.getAttribute("aria-label");
  return label ? `button[aria-label="${CSS.escape(label)}"]` : null;
}

// Run an action from a button: a spinner on it while it works (aria-busy), the error said in
// words, and focus back on the button (or its re-rendered twin) when it is done.
async function act(button, work) {
  const again = button && findAgain(button);
  if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
  try { return await work(); }
  catch (e) { say(e instanceof ApiError ? e.message : String(e), "error"); }
  finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      const target = button.isConnected ? button : again && $(again);
      const lost = !document.activeElement || document.activeElement === document.body || document.activeElement === button;
      if (target && lost && !target.closest("[hidden]")) target.focus();
    }
  }
}

// Every time in the store's zone, the zone named ("Nov 27, 1:00 AM EST"): a manager in
// another zone (or a UTC browser) reads the store's clock, as the schedules do.
function when(iso, withDate = true) {
  if (!iso) return "never";
  const parts = { hour: "numeric", minute: "2-digit", timeZoneName: "short", timeZone: state.zone };
  if (withDate) Object.assign(parts, { weekday: "short", month: "short", day: "numeric" });
  try { return new Intl.DateTimeFormat(undefined, parts).format(new Date(iso)); }
  catch (e) { return new Date(iso).toLocaleString(); }  // an unknown zone: the browser's clock
}

// --- sign-in ----------------------------------------------------------------------------
function showSignIn(detail) {
  $("#nav").hidden = true;
  for (const id of ["dashboard", "products"]) $("#" + id).hidden = true;
  $("#signin").hidden = false;
  if (detail) say(detail, "error");
  $("#username").focus();
}

async function signedIn(session) {
  state.session += 1;
  state.zone = session.zone || state.zone;
  $("#signin").hidden = true;
  $("#nav").hidden = false;
  $("#who").textContent = "Signed in: " + session.user;
  say("");
  await show(state.page);
}

$("#signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const button = $("button", ev.target);
  act(button, async () => {
    const data = await api("POST", "/api/session", { username: $("#username").value, password: $("#password").value });
    $("#password").value = "";
    await signedIn(data);
  });
});

$("#apikey-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act($("button", ev.target), async () => {
    const data = await api("POST", "/api/session", { api_key: $("#api-key").value });
    $("#api-key").value = "";
    await signedIn(data);
  });
});

$("#sign-out").addEventListener("click", () => act(null, async () => {
  await api("DELETE", "/api/session");
  state.session += 1;
  showSignIn("");
  say("Signed out.");
}));

// --- pages ------------------------------------------------------------------------------
for (const button of $$("#nav [data-page]")) {
  button.addEventListener("click", () => show(button.dataset.page));
}

async function show(page) {
  if (page !== state.page) say("");  // a banner belongs to the page it was said on
  state.page = page;
  for (const b of $$("#nav [data-page]")) b.toggleAttribute("aria-current", b.dataset.page === page);
  $("#dashboard").hidden = page !== "dashboard";
  $("#products").hidden = page !== "products";
  if (page === "dashboard") await act(null, loadDashboard);
  else await act(null, loadProducts);
}

// --- dashboard ----------------------------------------------------------------------------
const TRIGGERS = { schedule: "Schedule", queue_changed: "Queue Changed", queue_all: "Queue All",
  queue_item: "Queue Item", sync_item: "Sync Item" };
function counts(run) {
  if (!run) return "";
  const c = run.counts || {};
  const how = TRIGGERS[run.trigger || c.trigger];
  return (how ? `${how}: ` : "") + `read ${c.read ?? 0}, queued ${c.queued ?? 0}, unchanged ${c.unchanged ?? 0}`;
}

// A run's status in words; "ok_with_errors" is never shown as is.
const STATUS_WORDS = { ok: "finished", ok_with_errors: "finished, some records could not be read",
  failed: "failed", running: "running" };
function statusWords(run) { return STATUS_WORDS[run.status] || run.status; }

// What reached Magento of what the last run queued: the updater's tally, not detection's.
function inMagento(task) {
  const m = task.magento;
  if (!m) return task.last_run ? "nothing queued" : "";
  const parts = [`${m.applied} applied`];
  if (m.unchanged) parts.push(`${m.unchanged} already there`);
  if (m.waiting) parts.push(`${m.waiting} waiting` + (m.retries ? ` (${m.retries} retries)` : ""));
  if (m.parked) parts.push(`${m.parked} refused (see Dead letters)`);
  return parts.join(", ");
}

function lastRunText(task) {
  const run = task.last_run;
  if (!run) return "never";
  const refused = task.magento?.parked ? `; Magento refused ${task.magento.parked}` : "";
  return `${when(run.started_at)}: ${statusWords(run)}${refused}`;
}

function errorsText(task) {
  const said = task.recent_errors.map((e) => e.message);  // each message names its record
  if (task.magento?.parked) said.push(`${task.magento.parked} record${task.magento.parked === 1 ? "" : "s"} refused by Magento`);
  return said.length ? said.join("; ") : "none";
}

function ago(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

// The store agent's heartbeat (agent mode only): "seen 40 s ago on HOST", red when stale.
function showAgent(agent) {
  $("#agent-card").hidden = !agent;
  if (!agent) return;
  const status = $("#agent-status");
  status.textContent = `seen ${ago(agent.age_seconds)} ago on ${agent.host}` +
    (agent.stale ? ` (more than ${ago(agent.stale_after_seconds)}: is the agent running?)` : "");
  status.className = agent.stale ? "bad" : "ok";
}

async function loadDashboard() {
  const data = await api("GET", "/api/dashboard");
  state.tasks = data.tasks;
  state.zone = data.zone;
  const sw = $("#master-switch");
  sw.checked = data.automatic_sync;
  sw.setAttribute("aria-checked", String(data.automatic_sync));
  $("#master-label").textContent = data.automatic_sync ? "On: tasks run on their schedules" : "Off: no scheduled runs";
  const q = data.queue;
  $("#queue-depth").textContent = `${q.visible} waiting, ${q.in_flight} in progress, ${q.delayed} retrying later, ${q.dead} dead letters` +
    (q.oldest_age_seconds ? `; oldest ${ago(q.oldest_age_seconds)}` : "");
  showAgent(data.agent);
  api("GET", "/api/check").then(showCheck).catch(() => {});
  const body = $("#task-table tbody");
  body.replaceChildren(...data.tasks.map((t) => {
    const bad = Boolean(t.magento?.parked) || t.last_run?.status === "failed";
    const warn = !bad && (t.recent_errors.length > 0 || t.last_run?.status === "ok_with_errors");
    return el("tr", { "data-task": t.name },
      el("th", { scope: "row" }, t.title),
      el("td", {}, t.enabled ? "yes" : "no"),
      el("td", {}, t.schedule + (t.next_run ? ` (next ${when(t.next_run)})` : "")),
      el("td", { class: bad ? "bad" : warn ? "warn" : "" }, lastRunText(t)),
      el("td", {}, counts(t.last_run)),
      el("td", { class: t.magento?.parked ? "bad" : "" }, inMagento(t)),
      el("td", { class: bad || warn ? "bad" : "" }, errorsText(t)));
  }));
  api("GET", "/api/magento").then(showMagento)
    .catch((e) => { $("#magento-status").textContent = e.message; $("#magento-status").className = "bad"; });
  await loadDeadLetters();
  const health = (h) => {
    if (h.ok === null) { $("#cp-status").textContent = "Checking…"; $("#cp-status").className = ""; return; }
    $("#cp-status").textContent = h.ok ? h.detail.replace(/^connected/, "Connected") : h.detail;
    $("#cp-status").className = h.ok ? "ok" : "bad";
  };
  // The latest check at once, then a new one (a job: it runs where Counterpoint is).
  api("GET", "/api/counterpoint").then(health).catch(() => {});
  api("POST", "/api/counterpoint/check").then(health)
    .catch((e) => { $("#cp-status").textContent = e.message; $("#cp-status").className = "bad"; });
}

// The Magento card: reachable, cpsync's sign-in, the last successful write, the queue's age.
function showMagento(h) {
  const status = $("#magento-status");
  status.textContent = h.detail;
  status.className = h.ok === null ? "" : h.ok ? "ok" : "bad";
  const yes = (v) => (v === null ? "not checked" : v ? "yes" : "no");
  const stale = h.waiting && h.oldest_age_seconds > 900;
  $("#magento-facts").replaceChildren(
    el("li", {}, `Reachable: ${yes(h.reachable)}`),
    el("li", {}, `Sign-in working: ${yes(h.signed_in)}`),
    el("li", {}, `Last successful write: ${h.last_write ? when(h.last_write) : "none yet"}`),
    el("li", { class: stale ? "bad" : "" }, h.waiting ?
      `Queue: ${h.waiting} waiting, oldest ${ago(h.oldest_age_seconds)}` : "Queue: nothing waiting"));
}

// --- dead letters: one per record, grouped by reason, paged, filtered, retried from Counterpoint --
const dead = { offset: 0, limit: 100, task: "", reason: "", key: "", total: 0, selected: new Set() };

function number(n) { return Number(n).toLocaleString(); }

// "1–100 of 2,413" with Previous/Next; `go(offset)` loads another page.
function pager(label, page, go) {
  const from = page.total ? page.offset + 1 : 0;
  const to = Math.min(page.offset + page.limit, page.total);
  return el("div", { class: "pager", role: "navigation", "aria-label": `${label} pages` },
    el("span", { class: "range", "aria-live": "polite" }, page.total ? `${number(from)}–${number(to)} of ${number(page.total)}` : "none"),
    el("button", { type: "button", disabled: page.offset === 0, "aria-label": `Previous ${label} page`,
      onclick: (ev) => act(ev.target, () => go(Math.max(0, page.offset - page.limit))) }, "Previous"),
    el("button", { type: "button", disabled: to >= page.total, "aria-label": `Next ${label} page`,
      onclick: (ev) => act(ev.target, () => go(page.offset + page.limit)) }, "Next"));
}

function deadFilter() {
  const f = {};
  if (dead.task) f.task = dead.task;
  if (dead.reason) f.reason = dead.reason;
  if (dead.key) f.key = dead.key;
  return f;
}

function deadReason(d) {
  return el("td", { class: "reason" },
    el("strong", {}, d.title), " ",
    el("span", { class: "cause" }, d.cause),
    el("span", { class: "next" }, d.next_step),
    el("details", {}, el("summary", {}, "Magento's message"), el("code", {}, d.reason)));
}

function retried(result) {
  say(result.summary, result.failed.length ? "warn" : "ok");
}

async function retryDead(button, body) {
  await act(button, async () => {
    retried(await api("POST", "/api/dead-letters/retry", body));
    dead.selected.clear();
    await loadDashboard();
  });
}

async function loadDeadLetters(offset = dead.offset) {
  const query = new URLSearchParams({ limit: String(dead.limit), offset: String(offset), ...deadFilter() });
  const page = await api("GET", `/api/dead-letters?${query}`);
  if (page.total && offset >= page.total) return loadDeadLetters(Math.max(0, Math.floor((page.total - 1) / dead.limit) * dead.limit));
  if (dead.reason && !page.total && !page.groups.some((g) => g.group === dead.reason)) {
    dead.reason = "";  // the group was retried or discarded: back to every reason
    return loadDeadLetters(0);
  }
  dead.offset = page.offset;
  dead.total = page.total;
  const all = page.groups.reduce((n, g) => n + g.count, 0);
  const chip = (value, text) => el("button", { type: "button", "aria-pressed": String(dead.reason === value),
    onclick: (ev) => act(ev.target, async () => { dead.reason = value; dead.offset = 0; dead.selected.clear(); await loadDeadLetters(0); }) }, text);
  $("#dead-groups").replaceChildren(...(all ? [chip("", `All reasons (${number(all)})`), ...page.groups.map((g) => chip(g.group, `${g.title} (${number(g.count)})`))] : []));
  const taskSelect = $("#dead-task");
  if (taskSelect.options.length === 1) taskSelect.append(...state.tasks.map((t) => el("option", { value: t.name }, t.title)));
  const filtered = Object.keys(deadFilter()).length > 0;
  $("#dead-retry-all").textContent = page.total ? `Retry ${filtered ? "these" : "all"} ${number(page.total)}` : "Retry all";
  $("#dead-discard-all").textContent = page.total ? `Discard ${filtered ? "these" : "all"} ${number(page.total)}` : "Discard all";
  $("#dead-retry-all").disabled = $("#dead-discard-all").disabled = !page.total;
  $("#dead-pager").replaceChildren(pager("dead letter", page, loadDeadLetters));
  const selectedButton = () => {
    $("#dead-retry-selected").disabled = !dead.selected.size;
    $("#dead-retry-selected").textContent = dead.selected.size ? `Retry ${number(dead.selected.size)} selected` : "Retry selected";
  };
  selectedButton();
  const body = $("#dead-table tbody");
  $("#dead-select-page").checked = false;
  if (!page.items.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "5" }, filtered ? "No dead letters match." : "No dead letters.")));
    return;
  }
  body.replaceChildren(...page.items.map((d) => {
    const label = `${d.kind ?? "?"} ${d.key ?? d.id}`;
    const box = el("input", { type: "checkbox", "aria-label": `Select ${label}`, checked: dead.selected.has(d.id),
      onchange: (ev) => { ev.target.checked ? dead.selected.add(d.id) : dead.selected.delete(d.id); selectedButton(); } });
    return el("tr", { "data-dead": d.id, "data-group": d.group },
      el("td", {}, box),
      el("th", { scope: "row" }, label),
      deadReason(d),
      el("td", {}, when(d.failed_at)),
      el("td", {},
        el("button", { type: "button", "aria-label": `Retry ${label}`, onclick: (ev) => act(ev.target, async () => {
          retried(await api("POST", `/api/dead-letters/${encodeURIComponent(d.id)}/retry`));
          dead.selected.delete(d.id);
          await loadDashboard();
        }) }, "Retry"),
        " ",
        el("button", { type: "button", class: "danger", "aria-label": `Discard ${label}`, onclick: (ev) => act(ev.target, async () => {
          if (!confirm(`Discard ${label} for good?`)) return;
          await api("DELETE", `/api/dead-letters/${encodeURIComponent(d.id)}`);
          say(`${label} discarded.`);
          dead.selected.delete(d.id);
          await loadDashboard();
        }) }, "Discard")));
  }));
}

$("#dead-select-page").addEventListener("change", (ev) => {
  for (const box of $$("#dead-table tbody input[type=checkbox]")) {
    box.checked = ev.target.checked;
    box.dispatchEvent(new Event("change"));
  }
});

$("#dead-filter").addEventListener("submit", (ev) => {
  ev.preventDefault();
  dead.task = $("#dead-task").value;
  dead.key = $("#dead-key").value.trim();
  dead.offset = 0;
  dead.selected.clear();
  act(ev.submitter, () => loadDeadLetters(0));
});

$("#dead-retry-selected").addEventListener("click", (ev) => retryDead(ev.target, { ids: [...dead.selected] }));
$("#dead-retry-all").addEventListener("click", (ev) => {
  if (!confirm(`Read ${number(dead.total)} record${dead.total === 1 ? "" : "s"} again from Counterpoint and queue them?`)) return;
  retryDead(ev.target, deadFilter());
});
$("#dead-discard-all").addEventListener("click", (ev) => act(ev.target, async () => {
  if (!confirm(`Discard ${number(dead.total)} dead letter${dead.total === 1 ? "" : "s"} for good?`)) return;
  const filter = deadFilter();
  const data = await api("POST", "/api/dead-letters/discard", Object.keys(filter).length ? filter : { all: true });
  say(`${number(data.discarded)} dead letter${data.discarded === 1 ? "" : "s"} discarded.`);
  dead.selected.clear();
  await loadDashboard();
}));

$("#refresh").addEventListener("click", (ev) => act(ev.target, loadDashboard));

$("#master-switch").addEventListener("change", (ev) => act(ev.target, async () => {
  const data = await api("PUT", "/api/automatic-sync", { enabled: ev.target.checked });
  say(data.enabled ? "Automatic syncs are on." : "Automatic syncs are off; manual actions still work.");
  await loadDashboard();
}));

// --- verify: Magento against what Counterpoint asks for (a job, `cpsync verify`) ------------
function showVerify(report) {
  const differ = Object.entries(report.kinds).filter(([, k]) => k.differ);
  const status = $("#verify-status");
  const lines = differ.map(([kind, k]) =>
    `${kind}: ${k.differ} of ${k.checked} differ (${k.examples.map((e) => e.key).join(", ")})`);
  status.textContent = [
    ...(report.ok ? [`Magento holds what Counterpoint asks for (${report.requests} requests).`] : lines),
    ...report.errors,
  ].join("; ");
  status.className = report.ok ? "ok" : "bad";
  $("#verify-repair").hidden = !differ.length || report.repaired > 0;
  if (report.repaired) say(`${report.repaired} records queued with their Counterpoint state; the updater applies them.`);
}

$("#verify").addEventListener("click", (ev) => act(ev.target, async () =>
  showVerify(await api("POST", "/api/verify"))));
$("#verify-repair").addEventListener("click", (ev) => act(ev.target, async () =>
  showVerify(await api("POST", "/api/verify?repair=true"))));

// --- products: a tab per task ----------------------------------------------------------------
async function loadProducts() {
  state.tasks = await api("GET", "/api/tasks");
  const list = $("#task-tabs");
  if (!state.current || !state.tasks.some((t) => t.name === state.current)) state.current = state.tasks[0]?.name;
  list.replaceChildren(...state.tasks.map((t) => el("button", {
    type: "button", role: "tab", id: "tab-" + t.name, "aria-controls": "task-panel",
    "aria-selected": String(t.name === state.current), tabindex: t.name === state.current ? "0" : "-1",
    onclick: () => selectTab(t.name),
  }, t.title)));
  $("#task-menu").replaceChildren(...state.tasks.map((t) => el("option", { value: t.name }, t.title)));
  $("#task-menu").value = state.current;
  renderPanel();
}

// At phone width the tabs are hidden and the "Task" menu picks the task; both show the same one.
$("#task-menu").addEventListener("change", (ev) => selectTab(ev.target.value, false));

function selectTab(name, focusTab = true) {
  if (name !== state.current) say("");
  state.current = name;
  for (const b of $$("#task-tabs [role=tab]")) {
    const on = b.id === "tab-" + name;
    b.setAttribute("aria-selected", String(on));
    b.tabIndex = on ? 0 : -1;
  }
  $("#task-menu").value = name;
  if (focusTab) $("#tab-" + name).focus();
  renderPanel();
}

$("#task-tabs").addEventListener("keydown", (ev) => {
  const names = state.tasks.map((t) => t.name);
  const i = names.indexOf(state.current);
  if (ev.key === "ArrowRight") selectTab(names[(i + 1) % names.length]);
  else if (ev.key === "ArrowLeft") selectTab(names[(i - 1 + names.length) % names.length]);
  else return;
  ev.preventDefault();
});

function renderPanel() {
  const task = state.tasks.find((t) => t.name === state.current);
  const panel = $("#task-panel");
  if (!task) { panel.replaceChildren("No tasks."); return; }
  panel.setAttribute("aria-labelledby", "tab-" + task.name);
  panel.replaceChildren($("#panel-template").content.cloneNode(true));
  $(".task-meta", panel).textContent = taskMeta(task);
  wirePicker($("[data-schedule-form]", panel), task.schedule);
  if (task.kind === "category") $("[data-key-label]", panel).textContent = "Category ID";
  $("[data-action=toggle-task]", panel).textContent = task.enabled ? "Disable task" : "Enable task";
  for (const b of $$("[data-view]", panel)) b.addEventListener("click", () => showView(b.dataset.view));
  wireActions(panel, task);
  if (task.name === "images") {
    $("[data-item-form]", panel).remove();
    const box = $("[data-images]", panel);
    box.hidden = false;
    box.replaceChildren($("#images-template").content.cloneNode(true));
    wireImages(box);
  }
}

function taskMeta(task) {
  const run = task.last_run;
  return `${task.enabled ? "Runs" : "Disabled; would run"} on ${task.schedule}` +
    (task.next_run ? ` (next ${when(task.next_run)})` : "") + ". Last run: " +
    (run ? `${when(run.started_at)} (${statusWords(run)}; ${counts(run)}). In Magento: ${inMagento(task)}.` : "never.");
}

// After an action, the task's "Last run" line says what it did (no re-render: the count stays).
async function refreshMeta(panel, task) {
  const fresh = await api("GET", `/api/tasks/${task.name}`);
  state.tasks = state.tasks.map((t) => (t.name === fresh.name ? fresh : t));
  const meta = $(".task-meta", panel);
  if (meta) meta.textContent = taskMeta(fresh);
}

function showView(view) {
  const panel = $("#task-panel");
  for (const b of $$("[data-view]", panel)) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  for (const p of $$("[data-pane]", panel)) p.hidden = p.dataset.pane !== view;
  if (view === "queue") act(null, () => loadQueue($("[data-pane=queue]", panel)));
  if (view === "log") act(null, () => loadLog($("[data-pane=log]", panel)));
}

function itemKey(panel) {
  const key = $("[data-item-key]", panel).value.trim();
  const what = $("[data-key-label]", panel).textContent === "Category ID" ? "a category ID" : "an item number";
  if (!key) { say(`Enter ${what} first.`, "error"); $("[data-item-key]", panel).focus(); }
  return key;
}

function runSummary(r) {
  const errors = r.errors.length ? ` ${r.errors.length} could not be read: ${r.errors.slice(0, 3).map((e) => e.message).join("; ")}` : "";
  // A disable is the change a manager most needs to see: name it, not only count it.
  const disabled = r.disabled ? `: ${r.disabled} product${r.disabled === 1 ? "" : "s"} disabled (no longer for e-commerce)` : "";
  return `${r.queued} change${r.queued === 1 ? "" : "s"} queued${disabled} (${r.read} read, ${r.unchanged} unchanged).${errors}`;
}

// The banner goes with the next action anywhere; this line keeps the panel's last result.
function lastAction(panel, label, text) {
  const line = $("[data-last-action]", panel);
  line.textContent = `Last action: ${label} at ${when(new Date().toISOString(), false)}: ${text}`;
  line.hidden = false;
}

function wireActions(panel, task) {
  const on = (action, fn) => { const b = $(`[data-action=${action}]`, panel); b.addEventListener("click", (ev) => { ev.preventDefault(); act(b, fn); }); };
  on("queue-changed", async () => {
    const r = await api("POST", `/api/tasks/${task.name}/queue-changed`);
    $("[data-count]", panel).textContent = `${r.queued} queued`;
    say(`${task.title}: ${runSummary(r)}`, r.errors.length ? "warn" : "ok");
    lastAction(panel, "Queue Changed", runSummary(r));
    await refreshMeta(panel, task);
  });
  on("queue-all", async () => {
    const known = state.tasks.find((t) => t.name === task.name)?.last_run?.counts?.read;
    const many = known ? `all ${known.toLocaleString()} records` : "every record";
    if (!confirm(`Queue ${many} of ${task.title}? Each is sent to Magento again, even if unchanged.`)) return;
    const r = await api("POST", `/api/tasks/${task.name}/queue-all`);
    $("[data-count]", panel).textContent = `${r.queued} queued`;
    say(`${task.title}: ${runSummary(r)}`, r.errors.length ? "warn" : "ok");
    lastAction(panel, "Queue All", runSummary(r));
    await refreshMeta(panel, task);
  });
  on("queue-item", async () => {
    const key = itemKey(panel); if (!key) return;
    const r = await api("POST", `/api/tasks/${task.name}/queue-item`, { key });
    say(`${task.title} ${key}: ${runSummary(r)}`, r.errors.length ? "warn" : "ok");
    lastAction(panel, `Queue Item ${key}`, runSummary(r));
  });
  on("sync-item", async () => {
    const key = itemKey(panel); if (!key) return;
    const r = await api("POST", `/api/tasks/${task.name}/sync-item`, { key });
    say(syncSummary(`${task.title} ${key}`, r), r.applied ? "ok" : "error");
    lastAction(panel, "Sync Item", syncSummary(key, r));
  });
  on("reschedule", async () => {
    const schedule = pickedExpression($("[data-schedule-form]", panel));
    if (!schedule) { say(`${task.title}: enter a schedule first.`, "error"); return; }
    const r = await api("PUT", `/api/tasks/${task.name}/schedule`, { schedule });
    await loadProducts();
    const now = state.tasks.find((t) => t.name === task.name);
    say(`${task.title} now runs on ${r.schedule}` + (now?.next_run ? `; next ${when(now.next_run)}.` : "."));
  });
  on("toggle-task", async () => {
    const r = await api("POST", `/api/tasks/${task.name}/${task.enabled ? "disable" : "enable"}`);
    say(`${task.title} is ${r.enabled ? "enabled" : "disabled"}.`);
    await loadProducts();
  });
}

// --- the schedule picker: plain choices that write the EventBridge expression ----------------
const WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
const pad = (n) => String(n).padStart(2, "0");

function pickedExpression(form) {
  const kind = $("[data-pick]", form).value;
  const [hh, mm] = ($("[data-time]", form).value || "00:00").split(":").map(Number);
  if (kind === "minutes") {
    const n = Math.max(1, Math.round(Number($("[data-every]", form).value) || 1));
    return `rate(${n} minute${n === 1 ? "" : "s"})`;
  }
  if (kind === "hourly") return `cron(${Math.round(Number($("[data-minute]", form).value) || 0)} * * * ? *)`;
  if (kind === "daily") return `cron(${mm} ${hh} * * ? *)`;
  if (kind === "weekly") {
    const days = $$("[data-day]:checked", form).map((b) => b.value);
    return `cron(${mm} ${hh} ? * ${(days.length ? days : ["MON"]).join(",")} *)`;
  }
  return $("[data-schedule]", form).value.trim();
}

// The task's expression into the picker when it is one of the plain forms, else "advanced".
function readPicker(form, expression) {
  const pick = (kind) => { $("[data-pick]", form).value = kind; };
  let m;
  if ((m = /^rate\((\d+) minutes?\)$/.exec(expression))) { pick("minutes"); $("[data-every]", form).value = m[1]; }
  else if ((m = /^cron\((\d+) \* \* \* \? \*\)$/.exec(expression))) { pick("hourly"); $("[data-minute]", form).value = m[1]; }
  else if ((m = /^cron\((\d+) (\d+) \* \* \? \*\)$/.exec(expression))) {
    pick("daily"); $("[data-time]", form).value = `${pad(m[2])}:${pad(m[1])}`;
  } else if ((m = /^cron\((\d+) (\d+) \? \* ([A-Z,]+) \*\)$/.exec(expression)) && m[3].split(",").every((d) => WEEKDAYS.includes(d))) {
    pick("weekly"); $("[data-time]", form).value = `${pad(m[2])}:${pad(m[1])}`;
    for (const box of $$("[data-day]", form)) box.checked = m[3].split(",").includes(box.value);
  } else pick("advanced");
  $("[data-schedule]", form).value = expression;
}

let previewSeq = 0;
function showPicked(form) {
  const kind = $("[data-pick]", form).value;
  for (const part of $$("[data-for]", form)) part.hidden = !part.dataset.for.split(" ").includes(kind);
  const expression = pickedExpression(form);
  if (kind !== "advanced") $("[data-schedule]", form).value = expression;
  $("[data-expression]", form).textContent = expression || "(none)";
  const out = $("[data-preview]", form);
  const seq = ++previewSeq;
  clearTimeout(form.previewTimer);
  if (!expression) { out.textContent = ""; return; }
  form.previewTimer = setTimeout(async () => {
    try {
      const r = await api("GET", `/api/schedules/preview?expression=${encodeURIComponent(expression)}`);
      if (seq !== previewSeq) return;
      if (r.expression !== expression) $("[data-expression]", form).textContent = `${r.expression} (from ${expression})`;
      out.textContent = "Next runs: " + r.next_runs.map((t) => when(t)).join("; ") + ".";
      out.className = "preview";
    } catch (e) {
      if (seq !== previewSeq) return;
      out.textContent = e.message;
      out.className = "bad";
    }
  }, 200);
}

function wirePicker(form, expression) {
  readPicker(form, expression);
  $("[data-zone-note]", form).textContent = state.zone ? `(times in the store's zone, ${state.zone})` : "";
  form.addEventListener("input", () => showPicked(form));
  form.addEventListener("change", () => showPicked(form));
  showPicked(form);
}

function syncSummary(label, r) {
  if (!r.outcomes.length) return `${label}: nothing to send.`;
  const bad = r.outcomes.filter((o) => !o.applied);
  if (!bad.length) return `${label}: sent to Magento (${r.outcomes.length} record${r.outcomes.length === 1 ? "" : "s"}).`;
  const told = (o) => `${o.kind} ${o.key}: ${o.error}${o.queued ? " (queued: it is tried again automatically)" : ""}`;
  return `${label}: Magento did not take ${bad.map(told).join("; ")}`;
}

// The task's Queue and Log views page on the server; the key filter narrows to one record.
const lists = { queue: { offset: 0, key: "", task: null }, log: { offset: 0, key: "", task: null } };

// Another task's tab starts at its first page, unfiltered.
function listFor(which, offset) {
  if (lists[which].task !== state.current) lists[which] = { offset: 0, key: "", task: state.current };
  return offset ?? lists[which].offset;
}

function keyFilter(which, pane, load) {
  const input = el("input", { type: "search", id: `${which}-key`, value: lists[which].key, placeholder: "Item number", autocomplete: "off" });
  return el("form", { class: "row", role: "search", "aria-label": `Filter the ${which}`, onsubmit: (ev) => {
    ev.preventDefault();
    lists[which] = { offset: 0, key: input.value.trim(), task: state.current };
    act(ev.submitter, () => load(pane));
  } }, el("label", { for: `${which}-key` }, "Record"), input, el("button", { type: "submit" }, "Filter"));
}

async function loadQueue(pane, offset) {
  offset = listFor("queue", offset);
  const query = new URLSearchParams({ task: state.current, limit: "100", offset: String(offset) });
  if (lists.queue.key) query.set("key", lists.queue.key);
  const data = await api("GET", `/api/queue?${query}`);
  lists.queue.offset = data.offset;
  const d = data.depth;
  pane.replaceChildren(
    el("p", {}, `${number(d.visible)} waiting, ${number(d.in_flight)} in progress, ${number(d.delayed)} retrying later; oldest ${Math.round(d.oldest_age_seconds)} s. This task: ${number(data.total)} listed.`),
    keyFilter("queue", pane, loadQueue),
    pager("queue", data, (o) => loadQueue(pane, o)),
    table(["Record", "Tries", "Queued", "Last error"], data.messages.map((m) => [`${m.kind} ${m.key}`, m.receive_count, when(m.sent_at), m.last_error || ""])),
  );
}

async function loadLog(pane, offset) {
  offset = listFor("log", offset);
  const query = new URLSearchParams({ limit: "20", offset: String(offset) });
  if (lists.log.key) query.set("key", lists.log.key);
  const data = await api("GET", `/api/tasks/${state.current}/log?${query}`);
  lists.log.offset = data.offset;
  pane.replaceChildren(
    keyFilter("log", pane, loadLog),
    el("h3", {}, "Runs"),
    pager("run", data, (o) => loadLog(pane, o)),
    table(["Started", "Status", "Counts"], data.runs.map((r) => [when(r.started_at), statusWords(r), counts(r)])),
    el("h3", {}, "Errors"),
    el("p", { class: "hint" }, data.errors_total ? `${number(Math.min(data.errors.length, data.errors_total))} shown of ${number(data.errors_total)}.` : ""),
    table(["When", "Record", "Message"], data.errors.map((e) => [when(e.at), e.key, e.message])),
  );
}

function table(headers, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...(rows.length ? rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, String(c))))) : [el("tr", {}, el("td", { colspan: String(headers.length) }, "Nothing yet."))])));
}

// --- the Images tab procedure -------------------------------------------------------------------
function magnifier() {
  // An inline SVG: no icon font or emoji font needed, and it follows the text colour.
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  const circle = document.createElementNS(ns, "circle");
  for (const [k, v] of Object.entries({ cx: "10", cy: "10", r: "6.5", fill: "none", stroke: "currentColor", "stroke-width": "2.5" })) circle.setAttribute(k, v);
  const handle = document.createElementNS(ns, "line");
  for (const [k, v] of Object.entries({ x1: "15", y1: "15", x2: "21", y2: "21", stroke: "currentColor", "stroke-width": "3", "stroke-linecap": "round" })) handle.setAttribute(k, v);
  svg.append(circle, handle);
  return svg;
}

function wireImages(box) {
  $("[data-image-item-form]", box).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const itemNo = $("#image-item-no").value.trim();
    if (!itemNo) { say("Enter an item number first.", "error"); return; }
    act($("button", ev.target), async () => {
      const files = await api("GET", `/api/images?item_no=${encodeURIComponent(itemNo)}`);
      const label = `Check item ${itemNo} for new images`;
      $("[data-image-items] tbody", box).replaceChildren(el("tr", { "data-item": itemNo },
        el("th", { scope: "row" }, itemNo),
        el("td", {}, `${files.length} file${files.length === 1 ? "" : "s"}`),
        el("td", {}, el("button", { type: "button", class: "icon", title: label, "aria-label": label,
          onclick: (e) => act(e.currentTarget, async () => {
            const r = await api("POST", "/api/images/check", { item_no: itemNo });
            const problems = r.errors.length ? ` Problems: ${r.errors.map((e) => e.message).join("; ")}` : "";
            if (r.queued) say(`Item ${itemNo}: ${r.queued} new or changed image gallery${r.queued === 1 ? "" : "s"} queued.${problems}`, problems ? "warn" : "ok");
            else say(`Item ${itemNo}: nothing new to send now (images of a product not yet in Magento go up with it).${problems}`, problems ? "warn" : "ok");
          }) }, magnifier()))));
    });
  });
  $("[data-image-file-form]", box).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("#image-file-name").value.trim();
    if (!text) { say("Enter a file name or an item number first.", "error"); return; }
    act($("button", ev.target), () => loadImageFiles(box, text));
  });
}

// One page of the files found (100 a page: a folder can hold thousands of one item's images).
async function loadImageFiles(box, text, offset = 0) {
  const page = await api("GET", `/api/images?file_name=${encodeURIComponent(text)}&offset=${offset}&limit=100`);
  const rows = page.rows;
  $("[data-image-pager]", box).replaceChildren(page.total ? pager("image file", page, (o) => loadImageFiles(box, text, o)) : "");
  const body = $("[data-image-files] tbody", box);
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "4" }, `No image files found for ${text}.`)));
    return;
  }
  body.replaceChildren(...rows.map((r) => el("tr", { "data-file": r.file_name },
    el("th", { scope: "row" }, r.file_name),
    el("td", {}, r.item_no),
    el("td", { class: "status-" + r.status }, r.status + (r.detail ? `: ${r.detail}` : "")),
    el("td", {},
      el("button", { type: "button", class: "go", "aria-label": `Sync ${r.file_name} now`, title: "Sync now",
        onclick: (e) => act(e.currentTarget, async () => {
          const res = await api("POST", "/api/images/sync", { file_name: r.file_name, item_no: r.item_no });
          say(syncSummary(`Image ${r.file_name}`, res), res.applied ? "ok" : "error");
          await loadImageFiles(box, text, page.offset);
        }) }, "↻ Sync now"),
      " ",
      el("button", { type: "button", class: "queue", "aria-label": `Queue ${r.file_name}`, title: "Queue",
        onclick: (e) => act(e.currentTarget, async () => {
          const res = await api("POST", "/api/images/queue", { file_name: r.file_name, item_no: r.item_no });
          say(`Image ${r.file_name}: ${res.queued} change${res.queued === 1 ? "" : "s"} queued.`);
        }) }, "+ Queue")))));
}

// --- setup check (cpsync check): findings that need a fix first, the passed ones folded --------
const CHECK_MARKS = { blocking: ["bad", "Blocking"], warning: ["warn", "Warning"], ok: ["ok", "OK"] };
function finding(f) {
  const [cls, word] = CHECK_MARKS[f.level];
  return el("li", { class: cls },
    el("strong", {}, `${word} (${f.area}): `), f.sentence,
    f.fix && f.level !== "ok" ? el("span", { class: "hint fix" }, ` Fix: ${f.fix}`) : "");
}
function showCheck(report) {
  const summary = $("#check-summary");
  if (report.ok === null) { summary.textContent = "Not checked yet."; summary.className = ""; return; }
  const c = report.counts;
  summary.textContent = (report.ok ? "Nothing blocks a sync" : `${c.blocking} blocking`) +
    ` (${c.warning} warnings), checked ${when(report.checked_at)}.`;
  summary.className = report.ok ? "ok" : "bad";
  const open = report.findings.filter((f) => f.level !== "ok");
  const passed = report.findings.filter((f) => f.level === "ok");
  $("#check-findings").replaceChildren(...open.map(finding));
  const fold = $("#check-passed");
  fold.hidden = !passed.length;
  $("summary", fold).textContent = `${passed.length} checks passed`;
  $("ul", fold).replaceChildren(...passed.map(finding));
}
$("#check-run").addEventListener("click", (ev) => act(ev.target, async () => {
  $("#check-summary").textContent = "Checking…";
  $("#check-summary").className = "";
  const report = await api("POST", "/api/check");
  showCheck(report);
  say(report.ok ? "Setup check: nothing blocks a sync." : "Setup check: fix the blocking findings first.",
    report.ok ? "ok" : "error");
}));

// --- start ----------------------------------------------------------------------------------------
(async () => {
  try {
    const me = await api("GET", "/api/session");
    await signedIn(me);
  } catch (e) {
    showSignIn("");
  }
})();
