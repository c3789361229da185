// The flint dashboard: plain JS over the HTTP API (/api/v1), no build step, no CDN.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "flint-token";
const PAGE = 50;
const view = document.getElementById("view");

// --- helpers ---------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function fmt(v, digits = 4) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v.toLocaleString("en");
    return Number(v.toPrecision(digits)).toLocaleString("en", {maximumFractionDigits: 8});
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function day(ts) {
  return ts === null || ts === undefined ? "-" : new Date(ts * 1000).toISOString().slice(0, 10);
}

function stamp(ts) {
  return ts ? new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ") : "-";
}

function table(columns, rows, cell) {
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(c => el("th", {class: "text"}, c)))),
    el("tbody", {}, rows.map(r => el("tr", {}, columns.map(c => {
      const v = cell ? cell(c, r) : r[c];
      const td = el("td", {class: typeof v === "number" ? (v < 0 ? "neg" : "") : "text"});
      td.append(v instanceof Node ? v : fmt(v));
      return td;
    })))));
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// --- the token and the API ---------------------------------------------------

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function askToken(message) {
  const dialog = document.getElementById("login");
  document.getElementById("login-error").textContent = message || "";
  if (!dialog.open) dialog.showModal();
}

document.getElementById("login-form").addEventListener("submit", () => {
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  route();
});
document.getElementById("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  askToken();
});

class ApiError extends Error {}

async function api(path, options = {}) {
  if (!token()) { askToken(); throw new ApiError("a token is needed"); }
  const headers = {Authorization: `Bearer ${token()}`};
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method: options.method || "GET", headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    askToken("That token was refused.");
    throw new ApiError("the token was refused");
  }
  const data = await response.json();
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new ApiError(`${response.status}: ${detail}`);
  }
  return data;
}

// --- charts (inline SVG) ------------------------------------------------------

const COLORS = ["#3a7bd5", "#d9534f", "#17753a", "#8e44ad", "#e67e22"];

function lineChart(series, {title, xTime = true, area = false, height = 220} = {}) {
  const W = 600, H = height, L = 56, R = 8, T = 18, B = 22;
  const all = series.flatMap(s => s.points);
  const svg = svgEl("svg", {class: "chart", viewBox: `0 0 ${W} ${H}`,
                            preserveAspectRatio: "none", role: "img"});
  if (title) svg.setAttribute("aria-label", title);
  if (!all.length) return svg;
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (area) y1 = Math.max(y1, 0);
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const sx = x => L + (x1 === x0 ? 0 : (x - x0) / (x1 - x0)) * (W - L - R);
  const sy = y => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    svg.append(svgEl("line", {x1: L, x2: W - R, y1: sy(y), y2: sy(y), stroke: "#e3e5ea"}));
    const label = svgEl("text", {x: L - 4, y: sy(y) + 3, "text-anchor": "end"});
    label.textContent = fmt(y, 3);
    svg.append(label);
  }
  for (const [x, anchor] of [[x0, "start"], [x1, "end"]]) {
    const label = svgEl("text", {x: sx(x), y: H - 6, "text-anchor": anchor});
    label.textContent = xTime ? day(x) : fmt(x);
    svg.append(label);
  }
  if (title) {
    const t = svgEl("text", {x: L, y: 12});
    t.textContent = title;
    svg.append(t);
  }
  for (const s of series) {
    if (s.band) {  // a filled band between two point lists
      const upper = s.band[1].map(p => `${sx(p[0])},${sy(p[1])}`);
      const lower = s.band[0].map(p => `${sx(p[0])},${sy(p[1])}`).reverse();
      svg.append(svgEl("polygon", {points: upper.concat(lower).join(" "), fill: s.color,
                                   "fill-opacity": s.opacity || 0.2, stroke: "none"}));
      continue;
    }
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
    if (area) {
      svg.append(svgEl("path", {d: `${d}L${sx(s.points.at(-1)[0])},${sy(0)}L${sx(s.points[0][0])},${sy(0)}Z`,
                                fill: s.color, "fill-opacity": 0.25, stroke: "none"}));
    }
    svg.append(svgEl("path", {d, fill: "none", stroke: s.color, "stroke-width": 1.3,
                              "vector-effect": "non-scaling-stroke", class: "line"}));
  }
  return svg;
}

function barChart(entries, title) {
  const W = 600, rowH = 18, L = 160, H = entries.length * rowH + 24;
  const svg = svgEl("svg", {class: "chart", viewBox: `0 0 ${W} ${H}`, style: `height:${H}px`,
                            role: "img", "aria-label": title});
  const top = Math.max(...entries.map(e => e[1]), 1e-12);
  entries.forEach(([name, value], i) => {
    const y = 18 + i * rowH;
    const label = svgEl("text", {x: L - 6, y: y + 12, "text-anchor": "end"});
    label.textContent = name;
    svg.append(label, svgEl("rect", {x: L, y: y + 2, height: rowH - 5, fill: COLORS[0],
                                     width: Math.max(1, (value / top) * (W - L - 60))}));
    const v = svgEl("text", {x: L + (value / top) * (W - L - 60) + 4, y: y + 12});
    v.textContent = fmt(value, 3);
    svg.append(v);
  });
  const t = svgEl("text", {x: 4, y: 12});
  t.textContent = title;
  svg.append(t);
  return svg;
}

// --- pages --------------------------------------------------------------------

function runLink(run) {
  const target = run.kind === "optimization" ? `#/study/${run.run_id}` : `#/run/${run.run_id}`;
  return el("a", {href: target}, run.run_id.slice(0, 10));
}

async function journalPage(params, fixedKind) {
  const filters = {strategy: params.get("strategy") || "", kind: fixedKind || params.get("kind") || "",
                   market: params.get("market") || "", venue: params.get("venue") || "",
                   since: params.get("since") || "", until: params.get("until") || ""};
  const offset = Number(params.get("offset") || 0);
  const toTs = d => (d ? Math.floor(Date.parse(`${d}T00:00:00Z`) / 1000) : "");
  const page = await api(`/dashboard/runs${query({
    strategy: filters.strategy, kind: filters.kind, market: filters.market, venue: filters.venue,
    since: toTs(filters.since), until: filters.until ? toTs(filters.until) + 86400 : "",
    offset, limit: PAGE})}`);
  const base = fixedKind ? "#/studies" : "#/journal";
  const input = (name, label, type = "text") =>
    el("label", {}, label, el("input", {name, type, value: filters[name]}));
  const form = el("form", {class: "filters", id: "filters", onsubmit: ev => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(ev.target));
    location.hash = base + query(data);
  }},
    input("strategy", "strategy"),
    fixedKind ? null : el("label", {}, "kind", el("select", {name: "kind"},
      ["", "backtest", "optimization", "walk_forward"].map(k =>
        el("option", {value: k, selected: k === filters.kind}, k || "any")))),
    input("market", "market"), input("venue", "venue"),
    input("since", "journaled from", "date"), input("until", "to", "date"),
    el("button", {type: "submit"}, "Filter"));
  const chosen = new Set();
  const compare = el("button", {type: "button", id: "compare", disabled: true, onclick: () => {
    location.hash = `#/compare/${[...chosen].join(",")}`;
  }}, "Compare selected");
  const pick = run => el("input", {type: "checkbox", class: "pick", "data-run": run.run_id,
    onchange: ev => {
      if (ev.target.checked) chosen.add(run.run_id); else chosen.delete(run.run_id);
      compare.disabled = chosen.size < 2;
    }});
  const columns = ["", "run", "journaled", "kind", "strategy", "market", "venue",
                   ...(fixedKind ? ["metric", "best_value", "failed_trials"]
                                 : ["total_return", "sharpe_ratio", "max_drawdown", "total_trades"])];
  const runs = table(columns, page.runs, (c, r) => ({
    "": pick(r), run: runLink(r), journaled: stamp(r.created_at), kind: r.kind || "backtest",
  })[c] ?? r[c]);
  runs.id = "runs";
  const pageLink = (to, text) => el("a", {href: base + query({...filters, offset: to})}, text);
  const pager = el("div", {class: "pager"},
    offset > 0 ? pageLink(Math.max(0, offset - PAGE), "Newer") : null,
    el("span", {id: "count"}, `${page.total ? offset + 1 : 0}-${offset + page.runs.length} of ${page.total}`),
    offset + PAGE < page.total ? pageLink(offset + PAGE, "Older") : null);
  return [el("h1", {}, fixedKind ? "Optimisation studies" : "Journal"), form,
          fixedKind ? null : compare, runs, pager];
}

function metricsTable(metrics, names) {
  const keys = names || Object.keys(metrics);
  return table(["metric", "value"], keys.map(k => ({metric: k, value: metrics[k]})));
}

function monthlyTable(monthly) {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const rows = Object.entries(monthly).map(([year, m]) => {
    const row = {year};
    months.forEach((name, i) => { row[name] = m[String(i + 1)] ?? null; });
    return row;
  });
  const t = table(["year", ...months], rows, (c, r) =>
    c === "year" ? r.year : (r[c] === null ? "" : Number((r[c] * 100).toFixed(2))));
  t.id = "monthly";
  return t;
}

const HEADLINE = ["total_pnl", "total_return", "sharpe_ratio", "sortino", "max_drawdown",
                  "total_trades", "win_rate", "total_fees", "funding_paid"];

function fan(mc) {
  const b = mc.bands;
  return lineChart([
    {band: [b["5"], b["95"]], color: COLORS[0], opacity: 0.15, points: b["5"].concat(b["95"])},
    {band: [b["25"], b["75"]], color: COLORS[0], opacity: 0.3, points: []},
    {points: b["50"], color: COLORS[0]},
  ], {title: `Monte Carlo fan (${mc.iterations} ${mc.method} paths, 5-25-50-75-95 %)`,
      xTime: false});
}

async function runPage(id) {
  const [head, v] = await Promise.all([
    api(`/journal/compare${query({ids: id})}`),
    api(`/dashboard/runs/${encodeURIComponent(id)}/view`)]);
  const run = head.comparisons[0];
  const params = Object.entries(run.params || {}).map(([k, x]) => `${k}=${fmt(x)}`).join(", ");
  const mcBox = el("div", {class: "card", id: "mc"},
    el("button", {type: "button", onclick: async ev => {
      ev.target.disabled = true;
      const withMc = await api(`/dashboard/runs/${encodeURIComponent(id)}/view?monte_carlo=500`);
      mcBox.replaceChildren(fan(withMc.monte_carlo));
    }}, "Draw the Monte Carlo fan (500 paths)"));
  const venues = Object.entries(v.per_venue).map(([venue, x]) => ({venue, ...x}));
  const trades = table(["entry_ts", "exit_ts", "venue", "side", "size", "entry_price",
                        "exit_price", "pnl", "fees", "funding"].filter(c =>
                          !v.trades.length || c in v.trades[0]),
                       v.trades, (c, r) => (c.endsWith("_ts") ? stamp(r[c]) : r[c]));
  trades.id = "trades";
  return [
    el("h1", {id: "run-title"}, `${run.strategy} ${params ? `(${params})` : ""} on ${run.venue}/${run.market}`,
       v.kind === "walk_forward" ? " - walk-forward, stitched out-of-sample" : ""),
    el("p", {}, el("a", {href: `#/journal`}, "Journal"), ` · run ${id}`),
    el("div", {class: "grid"},
      el("div", {class: "card", id: "equity"}, lineChart([{points: v.equity, color: COLORS[0]}],
                                                   {title: "Equity"})),
      el("div", {class: "card", id: "drawdown"}, lineChart([{points: v.drawdown, color: COLORS[1]}],
                                                     {title: "Drawdown (fraction below the peak)", area: true}))),
    el("h2", {}, "Metrics"), metricsTable(v.metrics, HEADLINE.filter(k => k in v.metrics)),
    el("h2", {}, "Monthly returns (%)"), monthlyTable(v.monthly_returns),
    el("h2", {}, "Fees and funding by venue"),
    Object.assign(table(["venue", "pnl", "trades", "fees", "funding_income"], venues), {id: "venues"}),
    el("h2", {}, "Monte Carlo"), mcBox,
    el("h2", {}, `Trades (${v.trade_count}${v.trade_count > v.trades.length ? `, first ${v.trades.length}` : ""})`),
    trades,
  ];
}

async function comparePage(ids) {
  const list = ids.split(",");
  const [cmp, ...views] = await Promise.all([
    api(`/journal/compare${query({ids})}`),
    ...list.map(id => api(`/dashboard/runs/${encodeURIComponent(id)}/view`).catch(() => null))]);
  const runs = cmp.comparisons;
  const names = [...new Set(runs.flatMap(r => Object.keys(r.params)))];
  const rows = [
    ...["strategy", "market", "venue"].map(k => ({what: k, values: runs.map(r => r[k])})),
    ...names.map(k => ({what: `param ${k}`, values: runs.map(r => r.params[k])})),
    ...HEADLINE.map(k => ({what: k, values: runs.map(r => r.metrics[k])})),
  ];
  const columns = ["what", ...runs.map(r => r.run_id.slice(0, 10))];
  const side = table(columns, rows, (c, r) => (c === "what" ? r.what : r.values[columns.indexOf(c) - 1]));
  side.id = "side-by-side";
  const charts = views.map((v, i) => el("div", {class: "card run-chart"},
    el("a", {href: `#/run/${list[i]}`}, list[i].slice(0, 10)),
    v ? lineChart([{points: v.equity, color: COLORS[i % COLORS.length]}], {title: "Equity"})
      : el("p", {}, "no equity curve (an optimisation)")));
  return [el("h1", {}, `Compare ${runs.length} runs`), side, el("div", {class: "grid"}, charts)];
}

async function studyPage(id) {
  const r = await api(`/journal/runs/${encodeURIComponent(id)}`);
  const importance = Object.entries(r.param_importance || {}).sort((a, b) => b[1] - a[1]);
  const names = Object.keys(r.best_params || {});
  const trials = table(["number", "state", "value", ...names], r.trials || [],
                       (c, t) => (c in t ? t[c] : (t.params || {})[c]));
  trials.id = "trials";
  return [
    el("h1", {}, `Optimisation of ${r.strategy} on ${r.venue}/${r.market} (${r.metric}, ${r.direction})`),
    el("p", {}, `best ${r.metric} ${fmt(r.best_value)} with `,
       names.map(k => `${k}=${fmt(r.best_params[k])}`).join(", "), " · ",
       r.best_run_id ? el("a", {href: `#/run/${r.best_run_id}`}, "its backtest") : null),
    el("h2", {}, "Parameter importance"),
    importance.length ? el("div", {class: "card", id: "importance"}, barChart(importance, "share of the metric's variation"))
      : el("p", {}, "too few completed trials to tell"),
    el("h2", {}, `Trials (${(r.trials || []).length}, ${r.failed_trials || 0} failed)`), trials,
  ];
}

async function schemaEnum(model, field) {
  const doc = await (await fetch("/openapi.json")).json();
  const schemas = doc.components.schemas;
  let prop = schemas[model].properties[field];
  if (prop.$ref) prop = schemas[prop.$ref.split("/").pop()];
  return prop.enum || [prop.default];
}

async function newPage() {
  const [catalogue, markets, metrics] = await Promise.all([
    api("/strategies"), api("/data/markets"), schemaEnum("OptimizeRequest", "metric")]);
  const byName = Object.fromEntries(catalogue.strategies.map(s => [s.name, s]));
  const paramsBox = el("fieldset", {id: "params"});
  const showParams = name => {
    paramsBox.replaceChildren(el("legend", {}, "parameters (backtest)"),
      ...Object.entries(byName[name].parameters).map(([p, spec]) => el("label", {}, p,
        el("input", {name: `param.${p}`, type: "number", value: spec.default,
                     step: spec.type === "int" ? (spec.step || 1) : "any",
                     min: spec.low, max: spec.high, "data-type": spec.type}))));
  };
  const select = el("select", {name: "strategy", onchange: ev => showParams(ev.target.value)},
    catalogue.strategies.map(s => el("option", {value: s.name, selected: s.name === "ma_crossover"},
                                     `${s.name} (${s.category})`)));
  const status = el("p", {id: "start-error", class: "error"});
  const form = el("form", {class: "run", id: "new-run", onsubmit: async ev => {
    ev.preventDefault();
    const data = new FormData(form);
    const body = {strategy: data.get("strategy"), market: data.get("market"),
                  capital: Number(data.get("capital"))};
    for (const k of ["start", "end"]) if (data.get(k)) body[k] = data.get(k);
    const venue = data.get("venue");
    let path = "/backtest/run";
    if (data.get("what") === "optimize") {
      path = "/optimize/run";
      Object.assign(body, {trials: Number(data.get("trials")), metric: data.get("metric")});
      if (venue) body.venue = venue;
    } else {
      if (venue) body.venues = [venue];
      body.params = {};
      for (const input of paramsBox.querySelectorAll("input")) {
        const raw = input.value;
        if (raw === "") continue;
        body.params[input.name.slice(6)] = input.dataset.type === "int" ? parseInt(raw, 10) : Number(raw);
      }
    }
    try {
      const job = await api(path, {method: "POST", body});
      location.hash = `#/job/${job.id}`;
    } catch (err) { status.textContent = err.message; }
  }},
    el("label", {}, "run", el("select", {name: "what"},
      el("option", {value: "backtest"}, "backtest"), el("option", {value: "optimize"}, "optimisation"))),
    el("label", {}, "strategy", select),
    el("label", {}, "market", el("select", {name: "market"},
      markets.markets.map(m => el("option", {value: m, selected: m === "SOL-PERP"}, m)))),
    el("label", {}, "venue", el("select", {name: "venue"}, el("option", {value: ""}, "the one with most bars"),
      [...new Set(markets.series.filter(x => x.kind === "candles").map(x => x.venue))].sort()
        .map(v => el("option", {value: v}, v)))),
    el("label", {}, "first day", el("input", {name: "start", type: "date"})),
    el("label", {}, "last day", el("input", {name: "end", type: "date"})),
    el("label", {}, "capital", el("input", {name: "capital", type: "number", value: 10000, min: 1})),
    el("label", {}, "trials (optimisation)", el("input", {name: "trials", type: "number", value: 20, min: 1, max: 10000})),
    el("label", {}, "metric (optimisation)", el("select", {name: "metric"},
      metrics.map(m => el("option", {value: m, selected: m === "sharpe_ratio"}, m)))),
    paramsBox,
    el("button", {type: "submit", id: "start"}, "Start"));
  showParams(select.value);
  return [el("h1", {}, "Start a backtest or an optimisation"), form, status];
}

async function* jobEvents(id) {
  // Server-sent events read with fetch (EventSource cannot send the bearer token).
  const response = await fetch(`${API}/jobs/${id}/events`,
                               {headers: {Authorization: `Bearer ${token()}`}});
  if (!response.ok) throw new ApiError(`${response.status}: cannot follow job ${id}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6)).join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}

async function jobPage(id) {
  const state = el("p", {id: "job-state"}, "waiting");
  const bar = el("progress", {max: 1, value: 0});
  const links = el("div", {id: "job-runs"});
  const show = job => {
    const p = job.progress || {};
    const running = job.status === "queued" || job.status === "running";
    state.textContent = `${job.kind} ${job.status}` +
      (running && p.phase ? ` · ${p.phase}` : "") +
      (running && p.total ? ` · ${p.done}/${p.total}` : "") + (job.error ? ` · ${job.error}` : "");
    state.dataset.status = job.status;
    if (p.total) { bar.max = p.total; bar.value = p.done; }
    if (job.status === "complete") {
      bar.max = 1; bar.value = 1;
      links.replaceChildren(...job.run_ids.map((rid, i) => el("p", {},
        el("a", {href: job.kind === "optimize" && i === 0 ? `#/study/${rid}` : `#/run/${rid}`,
                 class: "job-run"},
           job.kind === "optimize" ? (i === 0 ? "the study" : "the best parameters' backtest")
                                   : "the run"))));
    }
  };
  (async () => {
    try {
      for await (const job of jobEvents(id)) show(job);
    } catch (err) {
      state.textContent = err.message;
    }
    show(await api(`/jobs/${id}`));
  })();
  return [el("h1", {}, `Job ${id}`), state, bar, links];
}

// At most COVERAGE_AT_ONCE coverage reads in flight (a store may hold many series).
const COVERAGE_AT_ONCE = 4;
const waiting = [];
let inFlight = 0;

function throttled(read) {
  return new Promise((resolve, reject) => {
    waiting.push(() => read().then(resolve, reject).finally(() => {
      inFlight -= 1;
      if (waiting.length) { inFlight += 1; waiting.shift()(); }
    }));
    if (inFlight < COVERAGE_AT_ONCE) { inFlight += 1; waiting.shift()(); }
  });
}

async function dataPage() {
  const markets = await api("/data/markets");
  const series = markets.series;
  const rows = table(["kind", "venue", "market", "resolution_s", "rows", "first", "last", "gaps",
                      "missing", "coverage"], series, (c, s) => {
    if (c === "first") return stamp(s.first_ts);
    if (c === "last") return stamp(s.last_ts);
    if (c !== "coverage") return s[c];
    const bar = el("div", {class: "bar", title: "stored / missing / empty at the source"});
    const step = s.kind === "candles" ? s.resolution_s : 3600;
    throttled(() => api(`/data/coverage${query({venue: s.venue, market: s.market, kind: s.kind,
                                                resolution_s: s.resolution_s || 3600,
                                                start_ts: s.first_ts, end_ts: s.last_ts + step})}`))
      .then(cov => {
        const span = Math.max(1, s.last_ts + step - s.first_ts);
        bar.replaceChildren(...cov.spans.map(p => el("span", {class: p.status,
          title: `${p.status} ${stamp(p.start_ts)} .. ${stamp(p.end_ts)}`,
          style: `width:${(100 * (p.end_ts - p.start_ts)) / span}%`})));
      })
      .catch(err => bar.replaceChildren(el("span", {class: "error"}, err.message)));
    return bar;
  });
  rows.id = "series";
  return [el("h1", {}, "Data coverage and gaps"),
          el("p", {}, `${markets.markets.length} markets, ${series.length} series`), rows];
}

// --- paper and live sessions ---------------------------------------------------------

function sessionControl(state, command) {
  const what = command === "kill"
    ? "cancel its orders and close its positions at the last close (on paper)"
    : "cancel its resting orders and keep its positions";
  return el("button", {type: "button", class: `session-${command}`, onclick: async () => {
    if (!confirm(`${command} paper session ${state.session}: ${what}?`)) return;
    try {
      await api(`/paper/sessions/${encodeURIComponent(state.session)}/${command}`,
                {method: "POST"});
      route();
    } catch (err) {
      view.append(el("p", {class: "error"}, err.message));
    }
  }}, command);
}

function sessionTable(states, controls) {
  const columns = ["session", "status", "trading_state", "market", "venue", "equity", "cash",
                   "positions", "orders", ...(controls ? [""] : [])];
  return table(columns, states, (c, s) => {
    if (c === "positions") {
      return (s.positions || []).map(p => `${p.side} ${fmt(p.size)} ${p.market}`).join(", ") || "-";
    }
    if (c === "orders") return (s.orders || []).length;
    if (c === "") return el("span", {}, sessionControl(s, "stop"), " ", sessionControl(s, "kill"));
    return s[c];
  });
}

async function liveSessions(box) {
  // Asked for on demand: it needs a token with the live scope.
  try {
    const {sessions} = await api("/live/sessions");
    const states = await Promise.all(sessions.map(s => api(`/live/sessions/${encodeURIComponent(s)}`)));
    const shown = states.length ? sessionTable(states, false) : el("p", {}, "No live session in the store.");
    shown.id = "live";
    box.replaceChildren(shown);
  } catch (err) {
    box.replaceChildren(el("p", {class: "error"}, err.message));
  }
}

async function sessionsPage() {
  const {sessions} = await api("/paper/sessions");
  const states = await Promise.all(sessions.map(s => api(`/paper/sessions/${encodeURIComponent(s)}`)));
  const paper = states.length ? sessionTable(states, true)
    : el("p", {}, "No paper session in the store (flint paper starts one).");
  paper.id = "paper";
  const live = el("div", {}, el("button", {type: "button", id: "show-live",
                                          onclick: () => liveSessions(live)},
                                "Show live sessions (read-only; needs the live scope)"));
  return [el("h1", {}, "Sessions"), el("h2", {}, "Paper"), paper, el("h2", {}, "Live"), live];
}

// --- routing --------------------------------------------------------------------

async function route() {
  if (!token()) { askToken(); return; }
  const [path, search] = (location.hash.slice(1) || "/journal").split("?");
  const params = new URLSearchParams(search || "");
  const [, page, arg] = path.split("/");
  const pages = {
    journal: () => journalPage(params), studies: () => journalPage(params, "optimization"),
    run: () => runPage(arg), compare: () => comparePage(arg), study: () => studyPage(arg),
    new: () => newPage(), job: () => jobPage(arg), data: () => dataPage(),
    sessions: () => sessionsPage(),
  };
  view.replaceChildren(el("p", {}, "loading…"));
  try {
    view.replaceChildren(...(await (pages[page] || pages.journal)()).filter(Boolean));
    view.dataset.page = page || "journal";
  } catch (err) {
    view.replaceChildren(el("p", {class: "error", id: "error"}, err.message));
  }
}

window.addEventListener("hashchange", route);
route();
