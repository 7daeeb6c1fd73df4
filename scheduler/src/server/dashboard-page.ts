/**
 * The live dashboard: one self-contained page (plain HTML, CSS and JS, no external
 * assets) fed by server-sent events from `events` (falling back to polling
 * `data.json`). Every URL is relative, so it works behind the launcher's
 * `/s/<id>/dashboard/` prefix.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>launchbay scheduler</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; } h2 { font-size: 1rem; margin: 1.4rem 0 .5rem; }
  .muted { color: #667; } .row { display: flex; gap: .6rem; flex-wrap: wrap; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: .5rem .8rem; min-width: 6rem; }
  .card b { display: block; font-size: 1.3rem; }
  table { border-collapse: collapse; background: #fff; width: 100%; }
  td, th { border-bottom: 1px solid #e4e7ec; padding: .3rem .5rem; text-align: left; }
  .bar { height: .8rem; background: #e8ebf0; border-radius: 3px; overflow: hidden; display: flex; min-width: 8rem; }
  .bar span { display: block; height: 100%; }
  .memory { background: #3b82f6; } .processing { background: #22c55e; } .queued { background: #eab308; }
  .waiting { background: #cbd5e1; } .erred { background: #ef4444; } .released { background: #a1a1aa; }
  canvas { background: #fff; border: 1px solid #dde1e8; width: 100%; height: 180px; }
  #conn.down { color: #b91c1c; }
  .legend { display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .4rem 0; font-size: 12px; }
  .legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: .8rem; }
  .charts h3 { font-size: .85rem; font-weight: 600; margin: 0 0 .3rem; }
  .charts canvas { height: 160px; }
</style>
</head>
<body>
<h1>launchbay scheduler <span id="sid" class="muted"></span></h1>
<div id="conn" class="muted">connecting…</div>
<h2>Tasks</h2>
<div class="row" id="counts"></div>
<h2>Progress by function</h2>
<table><thead><tr><th>function</th><th>done / total</th><th style="width:50%">states</th></tr></thead><tbody id="progress"></tbody></table>
<h2>Task stream (last 10 s)</h2>
<canvas id="stream" width="1200" height="180"></canvas>
<div id="stream-legend" class="legend" aria-label="task stream colours"></div>
<h2>Workers</h2>
<table><thead><tr><th>name</th><th>address</th><th>threads</th><th>processing</th><th>memory held</th><th>rss</th><th>cpu</th></tr></thead><tbody id="workers"></tbody></table>
<h2>Workers over time (last 2 minutes, from heartbeats)</h2>
<div class="charts">
<div><h3>memory (process RSS)</h3><canvas id="memory-chart" width="600" height="160"></canvas></div>
<div><h3>CPU (cores busy)</h3><canvas id="cpu-chart" width="600" height="160"></canvas></div>
</div>
<div id="worker-legend" class="legend" aria-label="worker colours"></div>
<script>
"use strict";
const STATES = ["memory", "processing", "queued", "waiting", "erred", "released"];
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const bytes = (n) => { const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return n.toFixed(i ? 1 : 0) + " " + u[i]; };
const colours = {};
const colour = (name) => colours[name] || (colours[name] = "hsl(" + ([...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7)) + ",65%,55%)");
const FAILED = "#ef4444";
const WORKER_COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#db2777", "#0891b2", "#65a30d", "#475569"];
const workerColour = (i) => WORKER_COLOURS[i % WORKER_COLOURS.length];
const HISTORY_MS = 120000;
const key = (name, fill) => '<span class="key" data-name="' + esc(name) + '"><i style="background:' + fill + '"></i>' + esc(name) + "</span>";

function render(d) {
  $("sid").textContent = d.schedulerId;
  $("counts").innerHTML = STATES.map((s) => '<div class="card"><span class="muted">' + s + "</span><b>" + (d.tasks[s] || 0) + "</b></div>").join("")
    + '<div class="card"><span class="muted">completed</span><b>' + d.completed + '</b></div><div class="card"><span class="muted">clients</span><b>' + d.clients + "</b></div>";
  $("progress").innerHTML = Object.entries(d.progress).map(([name, c]) => {
    const total = STATES.reduce((a, s) => a + (c[s] || 0), 0) || 1;
    return "<tr><td>" + esc(name) + "</td><td>" + (c.memory || 0) + " / " + total + '</td><td><div class="bar">'
      + STATES.map((s) => '<span class="' + s + '" style="width:' + (100 * (c[s] || 0) / total) + '%"></span>').join("") + "</div></td></tr>";
  }).join("") || '<tr><td colspan="3" class="muted">no tasks</td></tr>';
  $("workers").innerHTML = d.workers.map((w) => "<tr><td>" + esc(w.name) + "</td><td>" + esc(w.address) + "</td><td>" + w.nthreads
    + "</td><td>" + w.processing + "</td><td>" + '<div class="bar"><span class="memory" style="width:' + Math.min(100, 100 * w.bytesHeld / w.memoryLimit)
    + '%"></span></div>' + bytes(w.bytesHeld) + " / " + bytes(w.memoryLimit) + "</td><td>" + (w.rss ? bytes(w.rss) : "") + "</td><td>"
    + (w.history && w.history.length ? w.history[w.history.length - 1].cpu.toFixed(2) : "") + "</td></tr>").join("")
    || '<tr><td colspan="7" class="muted">no workers connected</td></tr>';
  drawStream(d);
  drawWorkerCharts(d);
}

/** What each colour of the task stream means: one per function seen in the window, red for failures. */
function drawLegend(d, shown) {
  const names = [...new Set(shown.filter((e) => e.outcome !== "failed").map((e) => e.name))].sort();
  const failed = shown.some((e) => e.outcome === "failed");
  $("stream-legend").innerHTML = names.map((n) => key(n, colour(n))).join("") + (failed ? key("failed (any function)", FAILED) : "")
    || '<span class="muted">no tasks in the last 10 s</span>';
}

/** One line per worker: memory and CPU from its heartbeats over the last two minutes. */
function drawWorkerCharts(d) {
  const workers = d.workers.slice().sort((a, b) => a.name.localeCompare(b.name));
  $("worker-legend").innerHTML = workers.map((w, i) => key(w.name, workerColour(i))).join("");
  drawLines($("memory-chart"), workers, (s) => s.rss, bytes, d.now);
  drawLines($("cpu-chart"), workers, (s) => s.cpu, (v) => v.toFixed(1) + " cores", d.now, 1);
}

function drawLines(canvas, workers, value, label, now, floor = 0) {
  const ctx = canvas.getContext("2d"); const W = canvas.width; const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const left = 70; const top = 10; const bottom = H - 18;
  let max = floor;
  for (const w of workers) for (const s of w.history || []) max = Math.max(max, value(s));
  max = max * 1.1 || 1;
  ctx.strokeStyle = "#e4e7ec"; ctx.fillStyle = "#667"; ctx.font = "11px system-ui"; ctx.lineWidth = 1;
  for (const f of [0, 0.5, 1]) {
    const y = bottom - (bottom - top) * f;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(W, y); ctx.stroke();
    ctx.fillText(label(max * f), 4, y + 4);
  }
  ctx.fillText("-2 min", left, H - 4); ctx.fillText("now", W - 24, H - 4);
  const x = (t) => left + (W - left) * (1 - (now - t) / HISTORY_MS);
  workers.forEach((w, i) => {
    const points = (w.history || []).filter((s) => now - s.t <= HISTORY_MS);
    if (points.length === 0) return;
    ctx.strokeStyle = workerColour(i); ctx.lineWidth = 2; ctx.beginPath();
    points.forEach((s, j) => { const y = bottom - (bottom - top) * value(s) / max; if (j === 0) ctx.moveTo(x(s.t), y); else ctx.lineTo(x(s.t), y); });
    if (points.length === 1) ctx.lineTo(x(points[0].t) + 2, bottom - (bottom - top) * value(points[0]) / max);
    ctx.stroke();
  });
}

function drawStream(d) {
  const canvas = $("stream"); const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const names = d.workers.map((w) => w.name);
  for (const e of d.stream) if (!names.includes(e.worker)) names.push(e.worker);
  const rowH = canvas.height / Math.max(1, names.length); const windowMs = 10000; const start = d.now - windowMs;
  ctx.font = "11px system-ui"; ctx.fillStyle = "#667";
  names.forEach((n, i) => ctx.fillText(n, 4, i * rowH + 12));
  drawLegend(d, d.stream.filter((e) => e.end >= start));
  for (const e of d.stream) {
    if (e.end < start) continue;
    const x0 = 100 + (canvas.width - 100) * Math.max(0, e.start - start) / windowMs;
    const x1 = 100 + (canvas.width - 100) * (e.end - start) / windowMs;
    ctx.fillStyle = e.outcome === "failed" ? FAILED : colour(e.name);
    ctx.fillRect(x0, names.indexOf(e.worker) * rowH + 16, Math.max(1, x1 - x0), rowH - 20);
  }
}

function poll() {
  fetch("data.json", { credentials: "same-origin" }).then((r) => r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)))
    .then((d) => { $("conn").textContent = "live (polling)"; $("conn").className = "muted"; render(d); })
    .catch((e) => { $("conn").textContent = "disconnected: " + e.message; $("conn").className = "down"; })
    .finally(() => setTimeout(poll, 2000));
}

if (typeof EventSource === "function") {
  const source = new EventSource("events");
  source.onmessage = (m) => { $("conn").textContent = "live"; $("conn").className = "muted"; render(JSON.parse(m.data)); };
  source.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "down"; };
} else poll();
</script>
</body>
</html>
`;
