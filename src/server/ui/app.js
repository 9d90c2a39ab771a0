// llm-gateway dashboard: reads the gateway's /admin JSON with an admin key kept in this
// tab's session storage, and redraws every few seconds. Everything is written with
// textContent (never HTML), so nothing the gateway returns can run as code.
"use strict";

const KEY_STORE = "llm-gateway.admin-key";
const REFRESH_MS = 5000;
const WEEK_EVERY = 3; // the 7-day sums (the largest read) are re-read every third refresh
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const state = {
  key: null,
  range: "24h",
  tick: 0,
  timers: {},
  busy: { status: false, ledger: false },
  problems: { status: null, ledger: null },
  usage: {},
};

// ---------------------------------------------------------------- small helpers

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function row(cells) {
  const tr = el("tr");
  for (const c of cells) tr.append(c instanceof Node ? c : el("td", null, c));
  return tr;
}

function cell(node) {
  const c = el("td");
  c.append(node);
  return c;
}

function td(text, cls, title) {
  const c = el("td", cls, text);
  if (title) c.title = title;
  return c;
}

const intFmt = new Intl.NumberFormat();
const int = (n) => intFmt.format(Math.round(n || 0));

function compact(n) {
  n = n || 0;
  if (n < 10000) return int(n);
  const units = [["B", 1e9], ["M", 1e6], ["k", 1e3]];
  for (const [u, v] of units) if (n >= v) return (n / v).toFixed(n / v < 100 ? 1 : 0) + u;
  return int(n);
}

function usd(x) {
  x = x || 0;
  if (x === 0) return "$0";
  if (x < 0.0001) return "<$0.0001";
  if (x < 1) return "$" + x.toFixed(4);
  if (x < 1000) return "$" + x.toFixed(2);
  return "$" + intFmt.format(Math.round(x));
}

function pct(x) {
  return (100 * (x || 0)).toFixed(x > 0 && x < 0.1 ? 1 : 0) + "%";
}

function ms(x) {
  if (x === null || x === undefined) return "–";
  return x < 1000 ? int(x) + " ms" : (x / 1000).toFixed(x < 10000 ? 2 : 1) + " s";
}

function duration(secs) {
  secs = Math.max(0, Math.round(secs));
  if (secs < 60) return secs + " s";
  if (secs < 3600) return Math.floor(secs / 60) + " min";
  if (secs < 86400) return Math.floor(secs / 3600) + " h " + (Math.floor(secs / 60) % 60) + " min";
  return Math.floor(secs / 86400) + " d " + (Math.floor(secs / 3600) % 24) + " h";
}

function until(iso) {
  if (!iso) return "";
  const left = (Date.parse(iso) - Date.now()) / 1000;
  return left > 0 ? "in " + duration(left) : "now";
}

function clock(msSinceEpoch) {
  const d = new Date(msSinceEpoch);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function day(iso) {
  return new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// ---------------------------------------------------------------- talking to the gateway

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, key) {
  let r;
  try {
    r = await fetch(path, { headers: { authorization: "Bearer " + key }, cache: "no-store" });
  } catch (_) {
    throw new ApiError(0, "The gateway does not answer (is it still running?)");
  }
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const msg = (body && body.error && body.error.message) || "HTTP " + r.status;
    throw new ApiError(r.status, msg);
  }
  return body;
}

function keyProblem(e) {
  if (e.status === 401) return "This gateway does not know that key.";
  if (e.status === 403) {
    return "That key is not an admin key. Create one with: llm-gateway apikey add --name dashboard --permissions admin";
  }
  return null;
}

// ---------------------------------------------------------------- sign in and out

function showLogin(message) {
  state.key = null;
  sessionStorage.removeItem(KEY_STORE);
  stopLoops();
  state.problems = { status: null, ledger: null };
  $("dash").hidden = true;
  $("signout").hidden = true;
  $("banner").hidden = true;
  $("meta").textContent = "";
  $("updated").textContent = "";
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("key").value = "";
  $("key").focus();
}

function showDashboard(key) {
  state.key = key;
  state.tick = 0;
  sessionStorage.setItem(KEY_STORE, key);
  $("login").hidden = true;
  $("dash").hidden = false;
  $("signout").hidden = false;
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  $("login-button").disabled = true;
  $("login-error").textContent = "";
  try {
    const status = await api("/admin/status", key);
    showDashboard(key);
    renderStatus(status);
    refresh();
  } catch (e) {
    $("login-error").textContent = keyProblem(e) || e.message;
  } finally {
    $("login-button").disabled = false;
  }
}

// ---------------------------------------------------------------- refresh loops

// Two loops. The upstreams (in-memory counters, answered at once) every 5 s, so a
// failing account shows at once. The ledger views every 5 s too, but never more often
// than LEDGER_PACE times the time they took: on a ledger with millions of rows in the
// window an open page keeps the gateway's reader at most a fifth busy.
const LEDGER_PACE = 4;

function schedule(name, fn, ms) {
  clearTimeout(state.timers[name]);
  if (state.key) state.timers[name] = setTimeout(fn, ms);
}

function stopLoops() {
  for (const t of Object.values(state.timers)) clearTimeout(t);
}

function refresh() {
  refreshStatus();
  refreshLedger();
}

async function refreshStatus() {
  if (!state.key || state.busy.status || document.hidden) return;
  state.busy.status = true;
  try {
    const status = await api("/admin/status", state.key);
    renderStatus(status);
    renderTiles();
    state.problems.status = null;
    $("updated").textContent = "updated " + clock(Date.now());
  } catch (e) {
    if (keyProblem(e)) {
      showLogin(keyProblem(e));
      return;
    }
    state.problems.status = e.message + " Retrying every " + REFRESH_MS / 1000 + " s.";
  } finally {
    state.busy.status = false;
    renderBanner();
    schedule("status", refreshStatus, REFRESH_MS);
  }
}

async function refreshLedger() {
  if (!state.key || state.busy.ledger || document.hidden) return;
  state.busy.ledger = true;
  const key = state.key;
  const started = performance.now();
  const withWeek = state.tick % WEEK_EVERY === 0 || state.range === "7d";
  state.tick += 1;
  try {
    const jobs = [
      api("/admin/timeseries?since=60m", key),
      api("/admin/requests?limit=100", key),
      api("/admin/usage?since=24h", key),
    ];
    if (withWeek) jobs.push(api("/admin/usage?since=7d", key));
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === "rejected");
    if (failed && keyProblem(failed.reason)) {
      showLogin(keyProblem(failed.reason));
      return;
    }
    const [series, recent, day1, day7] = results.map((r) => (r.status === "fulfilled" ? r.value : null));
    if (day1) state.usage["24h"] = day1;
    if (day7) state.usage["7d"] = day7;
    renderCharts(series);
    renderRequests(recent);
    renderUsage();
    renderTiles();
    state.problems.ledger = failed ? "Usage data: " + failed.reason.message : null;
  } finally {
    state.busy.ledger = false;
    renderBanner();
    const took = performance.now() - started;
    schedule("ledger", refreshLedger, Math.max(REFRESH_MS, LEDGER_PACE * took));
  }
}

function renderBanner() {
  const banner = $("banner");
  const problem = state.problems.status || state.problems.ledger;
  banner.textContent = problem || "";
  banner.hidden = !problem;
}

// ---------------------------------------------------------------- sections

let lastStatus = null;

function renderStatus(s) {
  lastStatus = s;
  $("meta").textContent = "v" + s.version + " · " + s.listen + " · up " + duration(s.uptime_secs);
  $("strategy").textContent = "routing: " + s.strategy;
  const body = $("upstreams").tBodies[0];
  const rows = [];
  for (const u of s.upstreams) {
    const st = u.stats || {};
    const nameCell = el("td");
    nameCell.append(el("div", null, u.name));
    const kind = [u.provider, u.provider === "openai" ? u.api : null, u.type].filter(Boolean).join(" · ");
    nameCell.append(el("div", "small", kind));
    const until_ = u.open_until || u.cooling_until;
    const err = st.error || "";
    const r = row([
      nameCell,
      cell(badge(u.state)),
      td(until(until_), null, until_ ? day(until_) : ""),
      td(int(st.in_flight), "num"),
      td(int(st.requests), "num"),
      td(u.error_ratio === undefined ? "–" : pct(u.error_ratio), "num"),
      td(ms(u.latency_p50_ms), "num"),
      td(ms(u.latency_p95_ms), "num"),
      td(err, "wrap", st.failed_at ? "at " + day(st.failed_at) : ""),
    ]);
    r.dataset.upstream = u.name;
    r.dataset.state = u.state || "";
    rows.push(r);
  }
  if (!rows.length) rows.push(emptyRow(9, "No upstream is configured: llm-gateway upstream add …"));
  body.replaceChildren(...rows);
}

const STATE_CLASS = {
  ok: "ok",
  idle: "",
  cooling: "warn",
  "half-open": "warn",
  open: "bad",
  auth_failed: "bad",
  disabled: "",
};

function badge(stateName) {
  const b = el("span", "badge " + (STATE_CLASS[stateName] || ""), (stateName || "unknown").replace("_", " "));
  b.dataset.state = stateName || "";
  return b;
}

function emptyRow(span, text) {
  const c = el("td", "empty", text);
  c.colSpan = span;
  return row([c]);
}

function renderTiles() {
  const status = lastStatus;
  const d1 = state.usage["24h"];
  const d7 = state.usage["7d"];
  const tiles = [];
  if (status) {
    const ups = status.upstreams || [];
    const down = ups.filter((u) => ["open", "auth_failed", "cooling", "half-open"].includes(u.state));
    const enabled = ups.filter((u) => u.enabled);
    const t = tile(
      "Upstreams",
      down.length ? down.length + " down" : enabled.length + " up",
      down.length ? down.map((u) => u.name + " (" + u.state.replace("_", " ") + ")").join(", ") : "of " + ups.length + " configured",
    );
    t.classList.add(down.length ? "bad" : "good");
    t.id = "tile-upstreams";
    tiles.push(t);
  }
  if (d1) {
    const t = d1.totals;
    const tokens = t.input_tokens + t.output_tokens;
    tiles.push(tile("Cost · 24 h", usd(t.cost_usd), t.unpriced_requests ? int(t.unpriced_requests) + " unpriced" : "last 24 hours", "tile-cost-24h"));
    tiles.push(tile("Requests · 24 h", int(t.requests), t.errors ? int(t.errors) + " errors (" + pct(t.errors / Math.max(1, t.requests)) + ")" : "no errors"));
    tiles.push(tile("Tokens · 24 h", compact(tokens), compact(t.input_tokens) + " in · " + compact(t.output_tokens) + " out"));
  }
  if (d7) {
    tiles.push(tile("Cost · 7 d", usd(d7.totals.cost_usd), int(d7.totals.requests) + " requests"));
  }
  $("tiles").replaceChildren(...tiles);
}

function tile(label, value, detail, id) {
  const t = el("div", "tile");
  if (id) t.id = id;
  t.append(el("div", "label", label), el("div", "value", value), el("div", "detail", detail));
  return t;
}

// One bar per minute over the last hour, ending at the current minute.
let lastSeries = null;

function renderCharts(series) {
  series = series || lastSeries;
  if (!series) return;
  lastSeries = series;
  const now = Math.floor(Date.now() / 60000) * 60000;
  const slots = [];
  const byMinute = new Map((series.minutes || []).map((m) => [m.minute_ms, m]));
  for (let i = 59; i >= 0; i--) {
    const t = now - i * 60000;
    const m = byMinute.get(t) || { requests: 0, errors: 0, tokens: 0 };
    slots.push({ t, ok: m.requests - m.errors, err: m.errors, tokens: m.tokens });
  }
  barChart($("chart-requests"), slots, [["ok", "ok"], ["err", "err"]], (s) => clock(s.t).slice(0, 5) + " · " + int(s.ok + s.err) + " requests, " + int(s.err) + " errors");
  barChart($("chart-tokens"), slots, [["tokens", "tok"]], (s) => clock(s.t).slice(0, 5) + " · " + int(s.tokens) + " tokens");
}

function barChart(node, slots, series, describe) {
  // Drawn in the element's own pixels, so text keeps its size at any width.
  const W = Math.max(200, Math.round(node.clientWidth || 600));
  const H = Math.max(100, Math.round(node.clientHeight || 180));
  const L = 40, R = 4, T = 8, B = 20;
  node.setAttribute("viewBox", "0 0 " + W + " " + H);
  const total = (s) => series.reduce((a, [k]) => a + (s[k] || 0), 0);
  const peak = Math.max(1, ...slots.map(total));
  const top = niceCeil(peak);
  const parts = [];
  for (const f of [0, 0.5, 1]) {
    const y = T + (H - T - B) * (1 - f);
    parts.push(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    const lbl = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "axis" });
    lbl.textContent = compact(top * f);
    parts.push(lbl);
  }
  const step = (W - L - R) / slots.length;
  slots.forEach((s, i) => {
    let y = H - B;
    const g = svg("g");
    const title = svg("title");
    title.textContent = describe(s);
    g.append(title);
    for (const [k, cls] of series) {
      const v = s[k] || 0;
      if (!v) continue;
      const h = Math.max(1, ((H - T - B) * v) / top);
      y -= h;
      g.append(svg("rect", { x: L + i * step + 1, y, width: Math.max(1, step - 2), height: h, class: cls }));
    }
    // An invisible full-height target, so the tooltip shows on empty minutes too.
    g.append(svg("rect", { x: L + i * step, y: T, width: step, height: H - T - B, fill: "transparent" }));
    parts.push(g);
  });
  for (const [i, label] of [[0, "−60 min"], [30, "−30 min"], [59, "now"]]) {
    const x = L + i * step + step / 2;
    const t = svg("text", { x, y: H - 5, "text-anchor": i === 0 ? "start" : i === 59 ? "end" : "middle", class: "axis" });
    t.textContent = label;
    parts.push(t);
  }
  node.replaceChildren(...parts);
  node.dataset.total = String(slots.reduce((a, s) => a + total(s), 0));
}

function niceCeil(x) {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function renderUsage() {
  const u = state.usage[state.range];
  if (!u) return;
  const unpriced = $("unpriced");
  unpriced.hidden = !(u.unpriced_models && u.unpriced_models.length);
  unpriced.textContent = unpriced.hidden
    ? ""
    : "No price known for " + u.unpriced_models.join(", ") + ": their cost counts as $0 (add one with llm-gateway prices set).";
  usageTable($("by-key"), "Key", u.by_key, (g) => g.name || g.recorded_name || g.group);
  usageTable($("by-model"), "Model", u.by_model, (g) => g.group);
  usageTable($("by-upstream"), "Upstream", u.by_upstream, (g) => g.name || g.group || "none (refused)");
  renderBudgets(u.budgets || []);
}

function usageTable(table, what, groups, name) {
  const head = el("thead");
  head.append(row([el("th", null, what), el("th", "num", "Requests"), el("th", "num", "Tokens"), el("th", "num", "Cost")]));
  const body = el("tbody");
  if (!groups || !groups.length) body.append(emptyRow(4, "No requests in this period."));
  for (const g of groups || []) {
    const errors = g.errors ? int(g.errors) + " errors" : "";
    const tokens = int(g.input_tokens) + " in · " + int(g.output_tokens) + " out";
    const unpriced = g.unpriced_requests ? int(g.unpriced_requests) + " unpriced" : "";
    body.append(row([td(name(g), "name", g.group), td(int(g.requests), "num", errors), td(compact(g.input_tokens + g.output_tokens), "num", tokens), td(usd(g.cost_usd), "num", unpriced)]));
  }
  table.replaceChildren(head, body);
}

function renderBudgets(budgets) {
  const box = $("budgets");
  if (!budgets.length) {
    const p = el("p", "empty", "No key has a budget. Set one with: llm-gateway apikey set NAME --budget 50");
    box.replaceChildren(p);
    return;
  }
  box.replaceChildren(
    ...budgets.map((b) => {
      const share = b.budget_usd > 0 ? b.spent_usd / b.budget_usd : 1;
      const div = el("div", "budget");
      div.dataset.key = b.name || b.key_id;
      const top = el("div", "row");
      top.append(el("span", "name", b.name || b.key_id), el("span", null, usd(b.spent_usd) + " of " + usd(b.budget_usd)));
      const meter = el("div", "meter" + (share >= 1 ? " bad" : share >= 0.8 ? " warn" : ""));
      const fill = el("div");
      fill.style.width = Math.min(100, share * 100).toFixed(1) + "%";
      meter.append(fill);
      meter.setAttribute("role", "meter");
      meter.setAttribute("aria-valuenow", String(Math.round(share * 100)));
      meter.setAttribute("aria-valuemin", "0");
      meter.setAttribute("aria-valuemax", "100");
      const detail = el("div", "detail", pct(share) + " of this " + b.budget_period + (b.resets_at ? " · resets " + day(b.resets_at) : ""));
      div.append(top, meter, detail);
      return div;
    }),
  );
}

function statusBadge(r) {
  const cls = r.status >= 200 && r.status < 300 ? "ok" : r.status === 429 || r.status === 499 ? "warn" : "bad";
  const b = el("span", "badge " + cls, r.status);
  if (r.error_class) b.title = r.error_class;
  return b;
}

function renderRequests(recent) {
  if (!recent) return;
  const body = $("requests").tBodies[0];
  const rows = (recent.requests || []).map((r) => {
    const model = r.model_served && r.model_served !== r.model_asked ? r.model_asked + " → " + r.model_served : r.model_asked;
    const tokens = int(r.input_tokens) + " / " + int(r.output_tokens);
    const cost = r.cost_usd === null || r.cost_usd === undefined ? "–" : usd(r.cost_usd);
    return row([
      td(clock(r.at_ms), null, new Date(r.at_ms).toLocaleString() + " · " + r.request_id),
      td(r.key_name || r.key_id || "–"),
      td(model || "–", null, r.client_format + " → " + (r.upstream_format || "–")),
      td(r.upstream_name || r.upstream_id || "–"),
      cell(statusBadge(r)),
      td(ms(r.latency_ms), "num", r.ttfb_ms !== null && r.ttfb_ms !== undefined ? "first byte " + ms(r.ttfb_ms) : ""),
      td(tokens, "num"),
      td(cost, "num"),
    ]);
  });
  if (!rows.length) rows.push(emptyRow(8, "No requests yet. Point a client at this gateway and they appear here."));
  body.replaceChildren(...rows);
}

// ---------------------------------------------------------------- start

function start() {
  $("login-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => showLogin(""));
  for (const b of document.querySelectorAll(".seg button")) {
    b.addEventListener("click", () => {
      state.range = b.dataset.range;
      for (const o of document.querySelectorAll(".seg button")) o.classList.toggle("on", o === b);
      renderUsage();
      if (!state.usage[state.range]) refreshLedger();
    });
  }
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => renderCharts(null), 100);
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.key) refresh();
  });
  const saved = sessionStorage.getItem(KEY_STORE);
  if (saved) {
    showDashboard(saved);
    refresh();
  } else {
    showLogin("");
  }
}

start();
