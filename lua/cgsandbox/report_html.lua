-- The report page (report.html, sb.report, --report): one HTML file that
-- works offline from a file:// URL.  The summary, the job table, the
-- timeline (SVG) and each job's facts and output are written here, as
-- escaped HTML, so the page reads without script; the script sorts the
-- table and draws the charts (Chart.js, Debian's libjs-chart.js, inlined)
-- from a data block that holds numbers only.  Every byte from the jails
-- (names, output, messages) goes through one escaper, and a Content
-- Security Policy lets only the page's own scripts run: nothing else
-- executes, and nothing is fetched.
--
-- Loaded by cgsandbox.report when a page is asked for: a run without one
-- pays nothing for it.
local M = {}

-- where Debian's libjs-chart.js puts Chart.js 3 (the UMD build: it defines
-- window.Chart in a classic script)
M.CHARTJS = "/usr/share/javascript/chart.js/chart.min.js"

-- chartjs([path]) -> the library's text, or nil and why; the path is
-- $SANDBOXLUA_CHARTJS where set (another build of Chart.js 3, say)
function M.chartjs(path)
  path = path or os.getenv("SANDBOXLUA_CHARTJS") or M.CHARTJS
  local f, err = io.open(path, "rb")
  if not f then
    return nil, ("Chart.js not found (%s): install Debian's libjs-chart.js (apt-get install libjs-chart.js)")
      :format(err)
  end
  local s = f:read("a")
  f:close()
  if not s or not s:find("Chart", 1, true) then
    return nil, ("%s: not Chart.js (expected Debian's libjs-chart.js)"):format(path)
  end
  -- inside a <script>, "</script" would end it (the minified library has
  -- none; a "<\/" is the same string in JS, in strings and regexps alike)
  return (s:gsub("</([Ss][Cc][Rr][Ii][Pp][Tt])", "<\\/%1"))
end

-- a script nonce for the page's Content Security Policy: 128 random bits
function M.nonce()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(16)
  if f then f:close() end
  if not b or #b < 16 then
    b = ("%.17g%p"):format(os.clock() + os.time(), {})
  end
  return (b:gsub(".", function(c) return ("%02x"):format(c:byte()) end):sub(1, 32))
end

-- ---------------------------------------------------------------- values

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge and v or nil
end

-- bytes in binary units, as the charts write them: "512 B", "3.0 MiB", "64 MiB"
local SIZE_UNITS = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" }
local function size(v)
  v = finite(v)
  if not v then return nil end
  local i = 1
  while math.abs(v) >= 1024 and i < #SIZE_UNITS do v, i = v / 1024, i + 1 end
  if i == 1 then return ("%d B"):format(math.floor(v)) end
  return ((v < 10 and "%.1f %s" or "%.0f %s"):format(v, SIZE_UNITS[i]))
end

local function secs(v)
  v = finite(v)
  if not v then return nil end
  if v < 10 then return ("%.2fs"):format(v) end
  if v < 120 then return ("%.1fs"):format(v) end
  if v < 7200 then return ("%dm%02ds"):format(v // 60, math.floor(v % 60)) end
  return ("%dh%02dm"):format(v // 3600, math.floor(v % 3600 / 60))
end

-- a number in the data block and in data-v: integers as they are, others
-- with 6 significant digits (the charts need no more)
local function num(v)
  v = finite(v)
  if not v then return "null" end
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 2^53 then return ("%d"):format(v) end
  return (("%.6g"):format(v))
end

-- a time axis label: "0s", "0.5s", "90s", "2m", "1h30m"
local function tick(v)
  if v < 120 then return ("%gs"):format(tonumber(("%.3g"):format(v))) end
  if v < 7200 then return ("%gm"):format(tonumber(("%.3g"):format(v / 60))) end
  return ("%gh"):format(tonumber(("%.3g"):format(v / 3600)))
end

-- a sort key (data-v): empty when there is none (sorted last)
local function key(v)
  v = finite(v)
  return v and num(v) or ""
end

-- ----------------------------------------------------------------- pages

local CSS = [[
:root{--bg:#fff;--fg:#1d2127;--mute:#5f6b7a;--line:#dde2e8;--card:#f6f8fa;--head:#eef1f5;
--ok:#1a7f37;--bad:#cf222e;--warn:#bc4c00;--oom:#8250df;--err:#9a6700;--skip:#8c959f;--accent:#0969da;
--mem:#0969da;--cpu:#1a7f37;--limit:#cf222e}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mute:#8d96a0;--line:#30363d;
--card:#161b22;--head:#1c222b;--ok:#3fb950;--bad:#f85149;--warn:#db6d28;--oom:#a371f7;--err:#d29922;
--skip:#6e7681;--accent:#4493f8;--mem:#4493f8;--cpu:#3fb950;--limit:#f85149}}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 64px;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 10px}
.meta{color:var(--mute);margin:0 0 16px}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:108px}
.card b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.card span{color:var(--mute);font-size:12px}
.card.ok b{color:var(--ok)}.card.bad b{color:var(--bad)}.card.warn b{color:var(--warn)}.card.oom b{color:var(--oom)}
.card.err b{color:var(--err)}
.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;margin:12px 0 0;background:var(--line)}
.bar i{display:block}
.s-passed{--c:var(--ok)}.s-failed,.s-signaled{--c:var(--bad)}.s-timeout{--c:var(--warn)}.s-oom{--c:var(--oom)}
.s-setup_error{--c:var(--err)}.s-interrupted,.s-skipped,.s-unknown{--c:var(--skip)}
.bar i{background:var(--c)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;
background:var(--c);white-space:nowrap}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
td.n,th.n{text-align:right;white-space:nowrap}
thead th{position:sticky;top:0;background:var(--head);cursor:pointer;user-select:none;white-space:nowrap}
thead th:hover{color:var(--accent)}
thead th[aria-sort=ascending]::after{content:" \25B2";font-size:10px}
thead th[aria-sort=descending]::after{content:" \25BC";font-size:10px}
tbody tr:hover{background:var(--card)}
td.st{white-space:nowrap}
td.name{max-width:300px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td.name a{color:inherit}
.meter{display:inline-block;width:60px;height:6px;background:var(--line);border-radius:3px;margin-left:8px;
vertical-align:middle;overflow:hidden}
.meter i{display:block;height:100%;background:var(--mem)}.meter i.hi{background:var(--limit)}
.mute{color:var(--mute)}
.gantt{display:grid;grid-template-columns:minmax(120px,220px) 1fr;column-gap:10px}
.gantt .labels div{height:18px;line-height:18px;font-size:12px;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;text-align:right}
.gantt .labels a{color:inherit;text-decoration:none}
.gantt svg{display:block;width:100%;background:var(--card);border:1px solid var(--line);border-radius:4px}
.gantt rect.job{fill:var(--c)}
.gantt a:hover rect.job{opacity:.7}
.gantt line{stroke:var(--line);vector-effect:non-scaling-stroke}
.axis{position:relative;height:18px;font-size:11px;color:var(--mute)}
.axis span{position:absolute;transform:translateX(-50%)}
details.job{border:1px solid var(--line);border-radius:8px;margin:8px 0;background:var(--bg)}
details.job>summary{padding:8px 12px;cursor:pointer;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
details.job>summary .name{font-weight:600;overflow-wrap:anywhere}
details.job[open]>summary{border-bottom:1px solid var(--line)}
details.job:target{outline:2px solid var(--accent)}
.body{padding:10px 14px}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:4px 16px;margin:0 0 10px}
dl.facts div{display:flex;gap:6px}dl.facts dt{color:var(--mute)}dl.facts dd{margin:0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:12px}
.charts figure{margin:0;height:200px;position:relative}
pre.tail{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px;margin:6px 0 0;
max-height:360px;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
h4{margin:12px 0 0;font-size:13px}
footer{margin-top:40px;color:var(--mute);font-size:12px}
]]

-- the script: sorting, row links, charts drawn when they come into view
local JS = [[
(function () {
  "use strict";
  var report = window.sbxReport = { charts: 0, errors: [] };
  var data = JSON.parse(document.getElementById("sbx-data").textContent);
  var css = getComputedStyle(document.documentElement);
  function color(name) { return css.getPropertyValue(name).trim() || "#888"; }

  // sorting: numbers from data-v (absent last), text by its collation
  var table = document.getElementById("job-table");
  var body = table.tBodies[0];
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  function sortBy(th) {
    var col = th.cellIndex, numeric = th.dataset.type === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var rows = Array.prototype.map.call(body.rows, function (r, i) {
      var c = r.cells[col], v = c.dataset.v;
      return { r: r, i: i, k: numeric ? (v === undefined || v === "" ? null : +v) : (v !== undefined ? v : c.textContent) };
    });
    rows.sort(function (a, b) {
      if (numeric) {
        if (a.k === null || b.k === null) return a.k === b.k ? a.i - b.i : (a.k === null ? 1 : -1);
        return (a.k - b.k) * dir || a.i - b.i;
      }
      return collator.compare(a.k, b.k) * dir || a.i - b.i;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (x) { frag.appendChild(x.r); });
    body.appendChild(frag);
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.tabIndex = 0;
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); } });
  });

  // a link to a job opens its details
  function openJob() {
    var el = location.hash && document.getElementById(location.hash.slice(1));
    if (el && el.tagName === "DETAILS") el.open = true;
  }
  window.addEventListener("hashchange", openJob);
  openJob();

  // charts
  if (typeof Chart === "undefined") { report.errors.push("Chart.js did not load"); return; }
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;
  Chart.defaults.color = color("--mute");
  Chart.defaults.borderColor = color("--line");
  var UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
  function bytes(v) {
    var i = 0;
    while (Math.abs(v) >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)) + " " + UNITS[i];
  }
  // a step of 1, 2 or 5 times a power of ten of a binary unit: ticks at 0, 20, 40 MiB
  function byteStep(top) {
    var raw = top / 5, unit = 1;
    while (raw / unit >= 1024) unit *= 1024;
    var m = raw / unit, p = Math.pow(10, Math.floor(Math.log10(m || 1))), f = m / p;
    return unit * p * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
  }
  function points(t, ys) {
    var out = new Array(t.length);
    for (var i = 0; i < t.length; i++) out[i] = { x: t[i], y: ys[i] };
    return out;
  }
  function draw(canvas) {
    var job = data.jobs[canvas.dataset.job], kind = canvas.dataset.kind;
    if (!job || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var mem = kind === "memory", tl = job.t, end = tl.length ? tl[tl.length - 1] : 0;
    var limit = mem ? job.memory_max : job.cpu_max;
    var sets = [{
      label: mem ? "memory" : "CPU", data: points(tl, mem ? job.memory : job.cpu),
      borderColor: color(mem ? "--mem" : "--cpu"), backgroundColor: color(mem ? "--mem" : "--cpu") + "33",
      fill: true, pointRadius: 0, borderWidth: 1.5, stepped: mem ? false : "before", spanGaps: false
    }];
    var top = 0;
    sets[0].data.forEach(function (p) { if (p.y > top) top = p.y; });
    if (limit != null) {
      sets.push({ label: "limit", data: [{ x: 0, y: limit }, { x: end, y: limit }], borderColor: color("--limit"),
                  borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, fill: false });
      top = Math.max(top, limit);
    }
    if (mem && job.memory_peak != null) top = Math.max(top, job.memory_peak);
    new Chart(canvas, {
      type: "line",
      data: { datasets: sets },
      options: {
        responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: 0, max: end || 1, title: { display: true, text: "seconds" } },
          y: { min: 0, suggestedMax: top * 1.08 || 1,
               ticks: mem ? { callback: bytes, stepSize: byteStep(top * 1.08 || 1) }
                          : { callback: function (v) { return v + (v === 1 ? " CPU" : " CPUs"); } } }
        },
        plugins: {
          legend: { display: limit != null, position: "bottom", labels: { boxHeight: 2 } },
          title: { display: true, text: mem ? "memory" : "CPU (CPUs used)", align: "start" },
          tooltip: { callbacks: { label: function (c) {
            return c.dataset.label + ": " + (mem ? bytes(c.parsed.y) : c.parsed.y.toFixed(2) + " CPUs");
          } } }
        }
      }
    });
    report.charts++;
  }
  var canvases = document.querySelectorAll("canvas[data-job]");
  if ("IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); }
      });
    }, { rootMargin: "400px 0px" });
    Array.prototype.forEach.call(canvases, function (c) { seen.observe(c); });
  } else {
    Array.prototype.forEach.call(canvases, draw);
  }
})();
]]

-- ---------------------------------------------------------------- parts

local STATUS_ORDER = { passed = 1, failed = 2, signaled = 3, timeout = 4, oom = 5, setup_error = 6,
                       interrupted = 7, skipped = 8 }

-- the class a status is drawn in: passed, or the status itself
local function sclass(r, kind)
  if kind(r) == "passed" then return "passed" end
  if r.status == "exited" then return "failed" end
  return STATUS_ORDER[r.status] and r.status or "unknown"
end

local function label(r, kind)
  if kind(r) == "passed" then return "passed" end
  if r.status == "exited" then return "failed" end
  return r.status
end

-- the timeline's series, as arrays of numbers; nil when it has none.  At
-- most max points: a longer one is cut into that many buckets, each shown
-- at its end with the maximum of its memory and the mean of its CPU.
local function series(tl, max)
  if type(tl) ~= "table" or type(tl.t) ~= "table" or #tl.t == 0 then return nil end
  local n = #tl.t
  local function arr(name)
    local a = tl[name]
    return type(a) == "table" and a or {}
  end
  local t, memory, cpu, pids = tl.t, arr("memory"), arr("cpu"), arr("pids")
  local out = { t = {}, memory = {}, cpu = {} }
  local per = math.max(1, math.ceil(n / max))
  local pids_max
  for b = 1, n, per do
    local last = math.min(n, b + per - 1)
    local m, c, cn
    for i = b, last do
      local mv, cv, pv = finite(memory[i]), finite(cpu[i]), finite(pids[i])
      if mv and (not m or mv > m) then m = mv end
      if cv then c, cn = (c or 0) + cv, (cn or 0) + 1 end
      if pv and (not pids_max or pv > pids_max) then pids_max = pv end
    end
    local k = #out.t + 1
    out.t[k] = num(t[last])
    out.memory[k] = num(m)
    out.cpu[k] = c and num(c / cn) or "null"
  end
  return out, pids_max
end

local function io_total(tl, name)
  local a = type(tl) == "table" and tl[name]
  if type(a) ~= "table" then return nil end
  return finite(a[#a])
end

-- ------------------------------------------------------------------ page

local function opt_positive(v, default, what)
  if v == nil then return default end
  if math.type(v) ~= "integer" or v < 1 then error(("report.html: %s: expected an integer >= 1"):format(what), 4) end
  return v
end

-- page(results, opts, R): R = cgsandbox.report's helpers (kind, status
-- line, tail, name, the escaper)
function M.page(results, opts, R)
  local kind, esc, name_of = R.kind, R.html, R.name
  local lines = opts.lines == nil and 40 or opts.lines
  if math.type(lines) ~= "integer" or lines < 0 then error("report.html: lines: expected an integer >= 0", 3) end
  local max_points = opt_positive(opts.max_points, 500, "max_points")
  local elapsed = opts.elapsed_s
  if elapsed ~= nil and not finite(elapsed) then error("report.html: elapsed_s: expected seconds", 3) end
  if opts.title ~= nil and type(opts.title) ~= "string" then error("report.html: title: expected a string", 3) end
  local lib, lerr = M.chartjs(opts.chartjs)
  if not lib then error("report.html: " .. lerr, 3) end
  local title = opts.title or "sandboxlua report"

  -- the run's clock: the first start, the last end
  local t0, t1
  for _, r in ipairs(results) do
    local s, e = finite(r.started_at), finite(r.ended_at)
    if s and (not t0 or s < t0) then t0 = s end
    if e and (not t1 or e > t1) then t1 = e end
  end
  if t0 and t1 and t1 < t0 then t1 = t0 end
  if not elapsed and t0 and t1 then elapsed = t1 - t0 end

  local counts = { passed = 0, failed = 0, timeout = 0, oom = 0, error = 0, skipped = 0, other = 0 }
  local by_class = {}
  local job_time, cpu_total, peak_max = 0, 0, nil
  for _, r in ipairs(results) do
    local k = kind(r)
    if k == "passed" then counts.passed = counts.passed + 1
    elseif k == "error" then counts.error = counts.error + 1
    elseif k == "skipped" then counts.skipped = counts.skipped + 1
    else
      counts.failed = counts.failed + 1
      if r.status == "timeout" then counts.timeout = counts.timeout + 1 end
      if r.status == "oom" then counts.oom = counts.oom + 1 end
    end
    local c = sclass(r, kind)
    by_class[c] = (by_class[c] or 0) + 1
    job_time = job_time + (finite(r.wall_s) or 0)
    cpu_total = cpu_total + (finite(r.cpu_s) or 0)
    local p = finite(r.memory_peak)
    if p and (not peak_max or p > peak_max) then peak_max = p end
  end

  local nonce = M.nonce()
  local out = {}
  local function w(...) for i = 1, select("#", ...) do out[#out + 1] = select(i, ...) end end

  w('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'nonce-', nonce,
    '\'; style-src \'unsafe-inline\'; img-src data:; base-uri \'none\'; form-action \'none\'">\n',
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    '<meta name="generator" content="sandboxlua', opts.version and (" " .. esc(tostring(opts.version))) or "", '">\n',
    '<title>', esc(title), '</title>\n<style>', CSS, '</style>\n</head>\n<body>\n')

  -- header and summary
  local when = finite(opts.timestamp) or t0
  w('<header><h1>', esc(title), '</h1><p class="meta">', #results, #results == 1 and " job" or " jobs",
    when and (" · started " .. os.date("!%Y-%m-%d %H:%M:%S UTC", math.floor(when))) or "",
    elapsed and (" · wall time " .. secs(elapsed)) or "", '</p></header>\n')
  w('<section id="summary" aria-label="summary"><div class="cards">')
  local function card(cls, id, value, what)
    w('<div class="card ', cls, '" id="sum-', id, '"><b>', value, '</b><span>', what, '</span></div>')
  end
  card("ok", "passed", counts.passed, "passed")
  card(counts.failed > 0 and "bad" or "", "failed", counts.failed, "failed")
  card(counts.timeout > 0 and "warn" or "", "timeouts", counts.timeout, "timeouts")
  card(counts.oom > 0 and "oom" or "", "ooms", counts.oom, "out of memory")
  if counts.error > 0 then card("err", "errors", counts.error, "setup errors") end
  if counts.skipped > 0 then card("", "skipped", counts.skipped, "skipped") end
  card("", "wall", elapsed and secs(elapsed) or "–", "wall time")
  card("", "jobtime", secs(job_time), "total job time")
  card("", "cpu", secs(cpu_total), "total CPU time")
  if peak_max then card("", "peak", size(peak_max), "highest memory peak") end
  w('</div>')
  if #results > 0 then
    w('<div class="bar" role="img" aria-label="jobs by status">')
    for _, c in ipairs { "passed", "failed", "signaled", "timeout", "oom", "setup_error", "interrupted", "skipped", "unknown" } do
      if by_class[c] then
        w('<i class="s-', c, '" style="flex:', by_class[c], '" title="', by_class[c], ' ', c, '"></i>')
      end
    end
    w('</div>')
  end
  w('</section>\n')

  -- the job table
  w('<section id="jobs"><h2>Jobs</h2>\n<table id="job-table"><thead><tr>',
    '<th data-type="num" class="n">#</th><th data-type="text">job</th><th data-type="num">status</th>',
    '<th data-type="num" class="n">exit</th><th data-type="num" class="n">started</th>',
    '<th data-type="num" class="n">duration</th><th data-type="num" class="n">peak memory</th>',
    '<th data-type="num" class="n">of limit</th><th data-type="num" class="n">CPU</th>',
    '<th data-type="num" class="n">OOM kills</th><th data-type="num" class="n">throttled</th>',
    '</tr></thead>\n<tbody>\n')
  local names = {}
  for i, r in ipairs(results) do
    local name = esc(name_of(r, i))
    names[i] = name
    local cls = sclass(r, kind)
    local exit = r.exit_code ~= nil and esc(tostring(r.exit_code)) or (r.signal and esc(tostring(r.signal))) or "–"
    local start = t0 and finite(r.started_at) and finite(r.started_at) - t0
    local peak, limit = finite(r.memory_peak), finite(r.memory_max)
    local pct = peak and limit and limit > 0 and peak / limit
    local cpu_s, wall = finite(r.cpu_s), finite(r.wall_s)
    local thr, thr_s = finite(r.nr_throttled), finite(r.throttled_s)
    w('<tr id="row-', i, '" class="s-', cls, '" data-status="', cls, '">',
      '<td class="n" data-v="', i, '">', i, '</td>',
      '<td class="name" data-v="', name, '"><a href="#job-', i, '" title="', name, '">', name, '</a></td>',
      '<td class="st" data-v="', STATUS_ORDER[cls] or 9, '"><span class="badge">', esc(label(r, kind)), '</span>',
      r.status == "timeout" and r.timeout and (' <span class="mute">' .. esc(tostring(r.timeout)) .. '</span>') or "",
      '</td>',
      '<td class="n" data-v="', key(finite(r.exit_code)), '">', exit, '</td>',
      '<td class="n" data-v="', key(start), '">', start and secs(start) or "–", '</td>',
      '<td class="n" data-v="', key(wall), '">', secs(wall) or "–", '</td>',
      '<td class="n" data-v="', key(peak), '">', size(peak) or "–", '</td>',
      '<td class="n" data-v="', key(pct), '">')
    if pct then
      w(("%.0f%%"):format(pct * 100), '<span class="meter"><i', pct >= 0.9 and ' class="hi"' or "",
        ' style="width:', ("%.1f"):format(math.min(pct, 1) * 100), '%"></i></span>')
    else
      w(limit and size(limit) or '<span class="mute">no limit</span>')
    end
    w('</td>',
      '<td class="n" data-v="', key(cpu_s), '"', cpu_s and wall and wall > 0 and
        (' title="' .. ("%.2f"):format(cpu_s / wall) .. ' CPUs on average"') or "", '>', cpu_s and secs(cpu_s) or "–",
      '</td>',
      '<td class="n" data-v="', key(finite(r.oom_kills)), '">', finite(r.oom_kills) and num(r.oom_kills) or "–", '</td>',
      '<td class="n" data-v="', key(thr_s or thr), '">',
      thr and (thr == 0 and "0" or ('<span title="' .. num(thr) .. (thr == 1 and " period" or " periods") ..
        ' throttled">' .. (thr_s and secs(thr_s) or (num(thr) .. "×")) .. '</span>')) or "–",
      '</td></tr>\n')
  end
  w('</tbody></table></section>\n')

  -- the timeline: one row per job, or per lane (jobs that did not overlap
  -- share one) when there are many
  w('<section id="timeline"><h2>Timeline</h2>\n')
  if t0 and t1 then
    local span = math.max(t1 - t0, 1e-3)
    local rows, row_of = {}, {}
    local lanes = #results > 60
    if lanes then
      local order = {}
      for i, r in ipairs(results) do if finite(r.started_at) then order[#order + 1] = i end end
      table.sort(order, function(a, b)
        local sa, sb = results[a].started_at, results[b].started_at
        if sa ~= sb then return sa < sb end
        return a < b
      end)
      local free = {} -- lane -> when it is free
      for _, i in ipairs(order) do
        local r = results[i]
        local lane
        for l = 1, #free do if free[l] <= r.started_at then lane = l break end end
        if not lane then lane = #free + 1 end
        free[lane] = finite(r.ended_at) or r.started_at
        row_of[i] = lane
      end
      for l = 1, #free do rows[l] = "slot " .. l end
    else
      for i, r in ipairs(results) do
        if finite(r.started_at) then
          rows[#rows + 1] = '<a href="#job-' .. i .. '" title="' .. names[i] .. '">' .. names[i] .. '</a>'
          row_of[i] = #rows
        end
      end
    end
    local H = 18
    w('<div class="gantt" id="gantt"><div class="labels">')
    for _, l in ipairs(rows) do w('<div>', l, '</div>') end
    w('</div><div><svg id="gantt-svg" viewBox="0 0 1000 ', #rows * H, '" preserveAspectRatio="none" height="',
      #rows * H, '" role="img" aria-label="when each job ran">')
    -- ticks at a round step
    local step = 10 ^ math.floor(math.log(span / 5, 10))
    for _, m in ipairs { 1, 2, 5, 10 } do if span / (step * m) <= 8 then step = step * m break end end
    local ticks = {}
    for x = 0, span + 1e-9, step do
      ticks[#ticks + 1] = x
      w('<line x1="', num(x / span * 1000), '" x2="', num(x / span * 1000), '" y1="0" y2="', #rows * H, '"/>')
    end
    for i, r in ipairs(results) do
      if row_of[i] then
        local s = r.started_at - t0
        local e = (finite(r.ended_at) or (r.started_at + (finite(r.wall_s) or 0))) - t0
        local x = s / span * 1000
        local width = math.max((e - s) / span * 1000, 1.5)
        w('<a href="#job-', i, '"><rect class="job s-', sclass(r, kind), '" x="', num(x), '" y="',
          (row_of[i] - 1) * H + 3, '" width="', num(width), '" height="', H - 6, '" rx="2"><title>', names[i],
          ': ', esc(label(r, kind)), ', ', secs(e - s) or "?", ' from ', secs(s) or "0", '</title></rect></a>')
      end
    end
    w('</svg><div class="axis">')
    for _, x in ipairs(ticks) do
      w('<span style="left:', ("%.2f"):format(x / span * 100), '%">', tick(x), '</span>')
    end
    w('</div></div></div>\n')
  else
    w('<p class="mute" id="gantt-none">These results hold no start and end times (started_at, ended_at).</p>\n')
  end
  w('</section>\n')

  -- each job: facts, charts, output
  local data = {}
  w('<section id="details"><h2>Each job</h2>\n')
  local open_all = #results <= 12
  for i, r in ipairs(results) do
    local k = kind(r)
    local cls = sclass(r, kind)
    local failed = k == "failed" or k == "error"
    w('<details class="job s-', cls, '" id="job-', i, '"', (open_all or failed) and " open" or "", '><summary>',
      '<span class="badge">', esc(label(r, kind)), '</span><span class="name">', names[i], '</span>',
      '<span class="mute">', esc(R.status_line(r)), '</span></summary><div class="body">')
    local facts = {}
    local function fact(what, v) if v then facts[#facts + 1] = { what, v } end end
    local tl, pids_seen = series(r.timeline, max_points)
    fact("duration", secs(r.wall_s))
    fact("CPU time", secs(r.cpu_s))
    fact("peak memory", size(r.memory_peak) and (size(r.memory_peak) ..
      (finite(r.memory_max) and (" of " .. size(r.memory_max)) or "")))
    fact("memory limit", not finite(r.memory_peak) and size(r.memory_max) or nil)
    fact("CPU limit", finite(r.cpu_max) and (num(r.cpu_max) .. " CPUs") or nil)
    fact("processes", pids_seen and (num(pids_seen) .. (finite(r.pids_max) and (" of " .. num(r.pids_max)) or ""))
      or (finite(r.pids_max) and ("limit " .. num(r.pids_max))))
    fact("OOM kills", finite(r.oom_kills) and num(r.oom_kills))
    fact("throttled", finite(r.nr_throttled) and (num(r.nr_throttled) .. " periods" ..
      (finite(r.throttled_s) and (", " .. secs(r.throttled_s)) or "")))
    fact("read", size(io_total(r.timeline, "io_read")))
    fact("written", size(io_total(r.timeline, "io_write")))
    local pressure = type(r.pressure) == "table" and r.pressure or {}
    for _, res in ipairs { "cpu", "memory", "io" } do
      local p = type(pressure[res]) == "table" and type(pressure[res].some) == "table" and pressure[res].some
      if p and finite(p.total_s) and p.total_s > 0 then fact(res .. " stalled", secs(p.total_s)) end
    end
    if finite(r.started_at) and t0 then fact("started", "+" .. secs(r.started_at - t0)) end
    if #facts > 0 then
      w('<dl class="facts">')
      for _, f in ipairs(facts) do w('<div><dt>', f[1], '</dt><dd>', f[2], '</dd></div>') end
      w('</dl>')
    end
    if r.message ~= nil and k ~= "passed" then
      w('<p class="message"><span class="mute">message</span> ', esc(tostring(r.message)), '</p>')
    end
    if tl then
      data[#data + 1] = ('"%d":{"t":[%s],"memory":[%s],"cpu":[%s],"memory_max":%s,"cpu_max":%s,"memory_peak":%s}')
        :format(i, table.concat(tl.t, ","), table.concat(tl.memory, ","), table.concat(tl.cpu, ","),
                num(r.memory_max), num(r.cpu_max), num(r.memory_peak))
      w('<div class="charts"><figure><canvas data-job="', i, '" data-kind="memory" role="img" aria-label="memory of ',
        names[i], ' over time"></canvas></figure><figure><canvas data-job="', i,
        '" data-kind="cpu" role="img" aria-label="CPU of ', names[i], ' over time"></canvas></figure></div>')
    else
      w('<p class="mute no-timeline">No timeline recorded for this job.</p>')
    end
    if failed and lines > 0 then
      for _, stream in ipairs { "stderr", "stdout" } do
        local text = r[stream]
        if type(text) == "string" and #text > 0 then
          local tail = R.tail(text, lines)
          -- a job that wrote megabytes without a newline shows its end
          if #tail > 64 * 1024 then tail = "…" .. tail:sub(-64 * 1024) end
          w('<h4>', stream, tail == text and "" or (" (last " .. lines .. " lines)"), '</h4><pre class="tail ',
            stream, '">', esc(tail), '</pre>')
        end
      end
    end
    w('</div></details>\n')
  end
  w('</section>\n')
  w('<footer>Written by sandboxlua', opts.version and (" " .. esc(tostring(opts.version))) or "",
    '. Charts: Chart.js (libjs-chart.js).</footer>\n')
  -- numbers only: nothing from the jails is in it
  w('<script type="application/json" id="sbx-data">{"jobs":{', table.concat(data, ","), '}}</script>\n',
    '<script nonce="', nonce, '">', lib, '</script>\n',
    '<script nonce="', nonce, '">', JS, '</script>\n</body>\n</html>\n')
  return table.concat(out)
end

return M
