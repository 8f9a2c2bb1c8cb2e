# ruff: noqa: E501  (JavaScript in a string: its lines are the script's own)
"""The dashboard's script: one page for the live dashboard (fetches ``api/steps``, then listens to
``events``) and the finished run's report (the same views over data embedded in the page).
Text from the run reaches the page only through ``textContent``, never as HTML. Tested in a real
headless Chromium in ``tests/test_dashboard.py``."""

APP_JS = r"""
(function () {
  "use strict";
  const STATIC = window.RH_DATA || null;
  const WARN = 0.3;  // |length_spearman| above this: the reward may be paying for length
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
  const CONFIG = {displaylogo: false, responsive: true};
  const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const state = {steps: [], histStep: null, groupStep: null, group: null, samples: new Map()};

  const $ = (id) => document.getElementById(id);
  function make(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    return Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 0.001) ? v.toExponential(3) : v.toFixed(4).replace(/\.?0+$/, "");
  }
  function clip(text, limit) {
    text = text === null || text === undefined ? "" : String(text);
    return text.length > limit ? text.slice(0, limit) + " … (" + (text.length - limit) + " more characters)" : text;
  }
  function keys() {
    const seen = [];
    for (const r of state.steps) for (const k of Object.keys(r.rewards || {})) if (!seen.includes(k)) seen.push(k);
    return seen;
  }
  function orders() {
    const seen = [];
    for (const r of state.steps) for (const k of Object.keys(r.corpus || {})) {
      const m = /^distinct_(\d+)$/.exec(k);
      if (m && !seen.includes(+m[1])) seen.push(+m[1]);
    }
    return seen.sort((a, b) => a - b);
  }
  function recordOf(step) {
    for (let i = state.steps.length - 1; i >= 0; i--) if (state.steps[i].step === step) return state.steps[i];
    return null;
  }
  function chart(host, id) {
    let div = $(id);
    if (!div) { div = make("div", null, "chart"); div.id = id; $(host).appendChild(div); }
    return div;
  }
  function layout(title, ytitle, extra) {
    const dtick = Math.max(1, Math.ceil(state.steps.length / 12));
    return Object.assign({title: {text: title, font: {size: 14}}, height: 290, margin: {t: 40, b: 40, l: 60, r: 20},
      xaxis: {title: {text: "step"}, dtick: dtick}, yaxis: {title: {text: ytitle}}, legend: {x: 1.02, y: 1}}, extra || {});
  }
  const series = (f) => state.steps.map(f);
  const xs = () => state.steps.map((r) => r.step);

  // -- views -----------------------------------------------------------------------------------
  function renderDistributions() {
    keys().forEach((key, i) => {
      const rows = state.steps.filter((r) => r.rewards[key] && r.rewards[key].quantiles);
      const q = (j) => rows.map((r) => r.rewards[key].quantiles[j]);
      const box = {type: "box", name: key, x: rows.map((r) => r.step), q1: q(1), median: q(2), q3: q(3),
        lowerfence: rows.map((r) => r.rewards[key].min), upperfence: rows.map((r) => r.rewards[key].max),
        mean: rows.map((r) => r.rewards[key].mean), marker: {color: COLORS[i % COLORS.length]}, boxpoints: false};
      Plotly.react(chart("distributions", "dist-" + key), [box],
        layout(key + " per step (box: quartiles, whiskers: min and max, dashed: mean)", key), CONFIG);
    });
  }

  function renderHistograms() {
    const select = $("hist-step");
    fillSteps(select, state.histStep);
    const step = state.histStep === null ? (state.steps.length ? state.steps[state.steps.length - 1].step : null) : state.histStep;
    const record = step === null ? null : recordOf(step);
    if (!record) return;
    keys().forEach((key, i) => {
      const stats = record.rewards[key];
      const div = chart("histograms", "hist-" + key);
      if (!stats || !stats.hist) { Plotly.purge(div); div.textContent = key + ": no value at this step"; return; }
      const e = stats.hist.edges;
      const bar = {type: "bar", x: stats.hist.counts.map((_, b) => (e[b] + e[b + 1]) / 2),
        width: stats.hist.counts.map((_, b) => e[b + 1] - e[b]), y: stats.hist.counts,
        customdata: stats.hist.counts.map((_, b) => b), marker: {color: COLORS[i % COLORS.length]},
        hovertemplate: "[%{x}] %{y} samples<extra>click to list</extra>"};
      Plotly.react(div, [bar], layout(key + " at step " + step + " (" + stats.n + " values, " + stats.missing + " missing)",
        "samples", {xaxis: {title: {text: key}}, bargap: 0.02}), CONFIG);
      if (!div.dataset.bound) {
        div.dataset.bound = "1";
        div.on("plotly_click", (ev) => {
          const point = ev.points && ev.points[0];
          if (point) listBin(div.dataset.step, key, point.customdata);
        });
      }
      div.dataset.step = String(step);
    });
  }

  function renderDiversity() {
    const traces = [];
    orders().forEach((k, i) => {
      const color = COLORS[i % COLORS.length];
      traces.push({x: xs(), y: series((r) => (r.corpus || {})["distinct_" + k] ?? null), name: "distinct-" + k + " (step)",
        mode: "lines+markers", line: {color: color}});
      traces.push({x: xs(), y: series((r) => (r.cumulative || {})["distinct_" + k] ?? null),
        name: "distinct-" + k + " (cumulative)", mode: "lines", line: {color: color, dash: "dash"}});
    });
    const bleu = Object.keys((state.steps[0] || {}).corpus || {}).find((k) => k.startsWith("self_bleu_"));
    if (bleu) traces.push({x: xs(), y: series((r) => r.corpus[bleu] ?? null), name: bleu.replace(/_/g, " "),
      mode: "lines+markers", line: {color: "#444", dash: "dot"}});
    Plotly.react(chart("diversity", "diversity-chart"), traces,
      layout("Diversity: each step's completions (solid), every completion so far (dashed)", "share"), CONFIG);
  }

  function renderSpearman() {
    const traces = keys().map((key, i) => ({x: xs(), y: series((r) => (r.rewards[key] || {}).length_spearman ?? null),
      name: key, mode: "lines+markers", line: {color: COLORS[i % COLORS.length]}}));
    const band = (y0, y1) => ({type: "rect", xref: "paper", x0: 0, x1: 1, y0: y0, y1: y1, fillcolor: "#d62728",
      opacity: 0.08, line: {width: 0}, layer: "below"});
    Plotly.react(chart("spearman", "spearman-chart"), traces, layout(
      "Spearman correlation of each reward with response length (shaded: |rho| > " + WARN + ", paid for length?)",
      "rho", {yaxis: {title: {text: "rho"}, range: [-1.05, 1.05]}, shapes: [band(WARN, 1.05), band(-1.05, -WARN)]}), CONFIG);
    const last = state.steps[state.steps.length - 1];
    const warn = last ? keys().filter((k) => Math.abs((last.rewards[k] || {}).length_spearman ?? 0) > WARN) : [];
    $("spearman-warning").textContent = warn.length
      ? "Warning at step " + last.step + ": " + warn.join(", ") + " correlate" + (warn.length > 1 ? "" : "s") +
        " with length beyond |" + WARN + "|." : "";
    const none = last ? keys().filter((k) => last.rewards[k] && last.rewards[k].length_spearman === null) : [];
    $("spearman-none").textContent = none.length ? "No correlation at step " + last.step + " for " + none.map((k) =>
      k + " (" + ((last.notes || {})["rewards." + k + ".length_spearman"] || "no value") + ")").join(", ") + "." : "";
  }

  function renderShares() {
    const traces = [];
    keys().forEach((key, i) => {
      const color = COLORS[i % COLORS.length];
      traces.push({x: xs(), y: series((r) => r.rewards[key] ? r.rewards[key].missing / Math.max(1, r.n) : null),
        name: key + ": missing", mode: "lines+markers", line: {color: color}});
      traces.push({x: xs(), y: series((r) => r.rewards[key] && r.rewards[key].groups_compared
        ? r.rewards[key].zero_std_groups / r.rewards[key].groups_compared : null),
        name: key + ": groups without spread", mode: "lines", line: {color: color, dash: "dash"}});
    });
    Plotly.react(chart("shares", "shares-chart"), traces, layout(
      "Share of samples missing each reward (solid), of groups where it has no spread (dashed)", "share",
      {yaxis: {title: {text: "share"}, range: [-0.02, 1.02]}}), CONFIG);
    const traces2 = [["repetition_loop_rate", "ends in a loop"], ["truncated_rate", "truncated"]].map(([k, label], i) => ({
      x: xs(), y: series((r) => (r.corpus || {})[k] ?? null), name: label, mode: "lines+markers",
      line: {color: COLORS[(i + 3) % COLORS.length]}}));
    Plotly.react(chart("shares", "degeneracy-chart"), traces2,
      layout("Degenerate completions: share per step", "share", {yaxis: {title: {text: "share"}, range: [-0.02, 1.02]}}), CONFIG);
  }

  function renderLog() {
    const body = $("step-log");
    body.textContent = "";
    for (const r of state.steps.slice(-8).reverse()) {
      const tr = make("tr");
      tr.dataset.step = String(r.step);
      [r.step, new Date(r.time * 1000).toLocaleTimeString(), r.n, fmt((r.total || {}).mean),
        fmt((r.corpus || {}).distinct_2), fmt((r.cumulative || {}).distinct_2)].forEach((v) => tr.appendChild(make("td", v)));
      body.appendChild(tr);
    }
    const last = state.steps[state.steps.length - 1];
    $("step-count").textContent = String(state.steps.length);
    $("latest-step").textContent = last ? String(last.step) : "–";
  }

  function fillSteps(select, chosen) {
    const want = ["latest"].concat(state.steps.map((r) => String(r.step)));
    const have = Array.from(select.options).map((o) => o.value);
    if (want.join(",") !== have.join(",")) {
      select.textContent = "";
      for (const v of want) select.appendChild(make("option", v === "latest" ? "latest (follow)" : "step " + v)).value = v;
    }
    select.value = chosen === null ? "latest" : String(chosen);
  }

  // -- samples: a histogram bar, a GRPO group ----------------------------------------------------
  async function samples(params) {
    if (STATIC) {
      const rows = STATIC.samples[String(params.step)];
      if (!rows) return {rows: [], note: "samples of this step are not in this report (it keeps the last steps only)"};
      if (params.component === undefined) return {rows: rows};
      const edges = recordOf(+params.step).rewards[params.component].hist.edges;
      const b = +params.bin, last = b === edges.length - 2;
      return {rows: rows.filter((row) => {
        const v = (row.rewards || {})[params.component];
        return v !== null && v !== undefined && v >= edges[b] && (last ? v <= edges[b + 1] : v < edges[b + 1]);
      })};
    }
    const query = new URLSearchParams(params);
    const response = await fetch(base + "api/samples?" + query.toString());
    if (!response.ok) return {rows: [], note: "could not load the samples (" + response.status + ")"};
    return await response.json();
  }

  function sampleCard(row, key) {
    const card = make("div", null, "sample");
    const head = make("div", null, "sample-head");
    head.appendChild(make("span", key + " = " + fmt((row.rewards || {})[key]), "value"));
    head.appendChild(make("span", "  total " + fmt(row.total) + " · advantage " + fmt(row.advantage) +
      " · " + fmt(row.tokens) + " tokens", "muted"));
    card.appendChild(head);
    card.appendChild(make("div", "prompt", "muted"));
    card.appendChild(make("pre", clip(row.prompt, 400)));
    card.appendChild(make("div", "response", "muted"));
    card.appendChild(make("pre", clip(row.response, 1500)));
    return card;
  }

  async function listBin(step, key, bin) {
    const host = $("bin-samples");
    host.textContent = "loading…";
    const got = await samples({step: step, component: key, bin: bin});
    host.textContent = "";
    const record = recordOf(+step);
    const e = record.rewards[key].hist.edges;
    host.appendChild(make("h3", key + " in [" + fmt(e[bin]) + ", " + fmt(e[+bin + 1]) + (+bin === e.length - 2 ? "]" : ")") +
      " at step " + step + ": " + got.rows.length + " samples"));
    if (got.note) host.appendChild(make("p", got.note, "muted"));
    for (const row of got.rows) host.appendChild(sampleCard(row, key));
  }

  async function renderGroup() {
    const stepSelect = $("group-step");
    fillSteps(stepSelect, state.groupStep);
    const last = state.steps[state.steps.length - 1];
    const step = state.groupStep === null ? (last ? last.step : null) : state.groupStep;
    if (step === null) return;
    let got = state.samples.get(step);
    if (!got) {
      got = await samples({step: step});
      state.samples.set(step, got);
      if (state.samples.size > 20) state.samples.delete(state.samples.keys().next().value);
    }
    const groups = new Map();
    for (const row of got.rows) { if (!groups.has(row.group)) groups.set(row.group, []); groups.get(row.group).push(row); }
    const groupSelect = $("group-select");
    const names = Array.from(groups.keys());
    if (names.join("\u0000") !== Array.from(groupSelect.options).map((o) => o.value).join("\u0000")) {
      groupSelect.textContent = "";
      names.forEach((g, i) => {
        const first = groups.get(g)[0];
        groupSelect.appendChild(make("option", "group " + (i + 1) + " (" + groups.get(g).length + "): " + clip(first.prompt, 60))).value = g;
      });
    }
    if (state.group === null || !groups.has(state.group)) state.group = names[0] ?? null;
    groupSelect.value = state.group ?? "";
    const view = $("group-view");
    view.textContent = "";
    if (got.note) view.appendChild(make("p", got.note, "muted"));
    if (state.group === null) return;
    const rows = groups.get(state.group).slice().sort((a, b) => (b.advantage ?? -Infinity) - (a.advantage ?? -Infinity));
    const record = recordOf(step);
    view.appendChild(make("p", "Prompt: " + clip(rows[0].prompt, 400) + " · advantage: " + ((record && record.advantage) || {}).source, "muted"));
    const table = make("table", null, "group-table");
    const head = make("tr");
    ["response", "tokens"].concat(keys(), ["total", "advantage"]).forEach((h) => head.appendChild(make("th", h)));
    table.appendChild(head);
    for (const row of rows) {
      const tr = make("tr");
      const cell = make("td");
      cell.appendChild(make("pre", clip(row.response, 600)));
      tr.appendChild(cell);
      tr.appendChild(make("td", fmt(row.tokens)));
      for (const k of keys()) tr.appendChild(make("td", fmt((row.rewards || {})[k])));
      tr.appendChild(make("td", fmt(row.total)));
      const adv = make("td", fmt(row.advantage), row.advantage > 0 ? "better" : row.advantage < 0 ? "worse" : "");
      tr.appendChild(adv);
      table.appendChild(tr);
    }
    view.appendChild(table);
  }

  function renderAll() {
    renderLog();
    if (!state.steps.length) return;
    renderDistributions();
    renderHistograms();
    renderDiversity();
    renderSpearman();
    renderShares();
    renderGroup().catch((err) => { $("group-view").textContent = "could not show the group: " + err; });
  }

  function pick(value) { return value === "latest" ? null : +value; }
  $("hist-step").addEventListener("change", (ev) => { state.histStep = pick(ev.target.value); renderHistograms(); });
  $("group-step").addEventListener("change", (ev) => { state.groupStep = pick(ev.target.value); state.group = null; renderGroup(); });
  $("group-select").addEventListener("change", (ev) => { state.group = ev.target.value; renderGroup(); });

  async function start() {
    if (STATIC) {
      state.steps = STATIC.steps;
      $("status").textContent = "a finished run (report written " + STATIC.written + ")";
      renderAll();
      return;
    }
    const response = await fetch(base + "api/steps");
    const body = await response.json();
    state.steps = body.steps;
    renderAll();
    const events = new EventSource(base + "events?after=" + body.count);
    events.addEventListener("step", (ev) => {
      state.steps.push(JSON.parse(ev.data));
      renderAll();
    });
    events.onopen = () => { $("status").textContent = "live"; $("status").className = "live"; };
    events.onerror = () => { $("status").textContent = "reconnecting…"; $("status").className = "muted"; };
  }
  start().catch((err) => { $("status").textContent = "could not load the run: " + err; });
})();
"""
