-- The report page in a real browser: Debian's chromium, headless, driven by
-- spec/support/browser.py (Selenium through chromedriver, which the script
-- starts and stops by its pid).  The page must load without a console
-- message, run no script of a jail's, fetch nothing, show one row per job
-- with its status, sort, and draw every chart (pixels in the chart's and
-- the limit's colours); a screenshot of each page lands in build/ for a
-- person to look at.  Tagged #browser: the sanitizer pass of scripts/test
-- skips it (no C of ours runs in it that the host specs do not run).
local H = require "spec.support.helper"
local report = require "cgsandbox.report"
local dkjson = require "dkjson"

local PY = "/usr/bin/python3"
local SHOTS = H.root .. "/build/report-browser"

-- the facts browser.py gathered about a page
local function look(page, shot, ...)
  local f = os.tmpname() .. ".html"
  local fh = assert(io.open(f, "wb"))
  fh:write(page)
  fh:close()
  local args = table.concat({ ... }, " ")
  local out, rc = H.sh(("timeout 180 %s %s/spec/support/browser.py %s %s/%s %s 2>/dev/null")
    :format(PY, H.root, f, SHOTS, shot, args))
  os.remove(f)
  local facts = dkjson.decode(out)
  assert(type(facts) == "table", "browser.py printed no facts: " .. tostring(out))
  assert(rc == 0 and not facts.error, "browser.py: " .. tostring(facts.error))
  assert.is_false(facts.driver_alive, "chromedriver still running")
  return facts
end

local function statuses(facts)
  local t = {}
  for i, r in ipairs(facts.rows) do t[i] = r.status end
  return t
end

local function ids(list)
  local t = {}
  for i, id in ipairs(list) do t[i] = tonumber(id:match("%d+")) end
  return t
end

-- what every page must be: quiet, inert, offline, drawn
local function sound(facts)
  assert.are.same({}, facts.console)
  assert.are.same({}, facts.report_errors)
  assert.is_nil(facts.pwned) -- window.__pwned: no script of a jail's ran
  assert.are.same({}, facts.resources) -- nothing fetched
  assert.are.equal(0, facts.images)
  local png = io.open(facts.screenshot, "rb")
  assert.truthy(png, "no screenshot")
  assert.are.equal("\137PNG", png:read(4))
  png:close()
end

local HOSTILE = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'

local function timeline(n, peak, cpu)
  local t = { interval = 0.1, t = {}, memory = {}, cpu = {}, pids = {} }
  for i = 1, n do
    t.t[i] = i * 0.1
    t.memory[i] = math.floor(peak * math.min(1, 1.3 * i / n))
    t.cpu[i] = cpu * (0.75 + 0.25 * math.sin(i / 3))
    t.pids[i] = 2
  end
  return t
end

local T = 1700000000.25
local function sample()
  return {
    { name = "unit-tests", status = "exited", exit_code = 0, wall_s = 1.2, cpu_s = 0.9, memory_peak = 24 << 20,
      memory_max = 64 << 20, started_at = T, ended_at = T + 1.2, timeline = timeline(12, 24 << 20, 0.8) },
    { name = "lint " .. HOSTILE, status = "exited", exit_code = 1, wall_s = 0.3, cpu_s = 0.1,
      started_at = T + 0.1, ended_at = T + 0.4, stderr = "src/x.c:3: " .. HOSTILE .. "\n" },
    { name = "memory-hog", status = "oom", exit_code = 137, signal = "SIGKILL", wall_s = 2.5, cpu_s = 1.2,
      memory_peak = 64 << 20, memory_max = 64 << 20, oom_kills = 1, started_at = T + 1.2, ended_at = T + 3.7,
      timeline = timeline(25, 64 << 20, 1.0), stderr = "Killed\n" },
    { name = "sleeper", status = "timeout", timeout = "wall", exit_code = 137, wall_s = 2.0, cpu_s = 0.01,
      memory_peak = 1 << 20, started_at = T + 0.4, ended_at = T + 2.4, timeline = timeline(20, 1 << 20, 0.01) },
    { name = "cpu-bound", status = "exited", exit_code = 0, wall_s = 3.0, cpu_s = 1.5, cpu_max = 0.5,
      memory_peak = 2 << 20, nr_throttled = 30, throttled_s = 1.4, started_at = T + 2.4, ended_at = T + 5.4,
      timeline = timeline(30, 2 << 20, 0.5) },
    { name = "no-timeline", status = "setup_error", message = "rootfs: " .. HOSTILE, exit_code = 125 },
  }
end

describe("the report page in chromium #browser", function()
  it("shows every job with its status, sorts, and draws each chart and the timeline", function()
    local facts = look(report.html(sample(), { elapsed_s = 5.4, title = "ci-matrix" }), "sample.png", "--sort")
    sound(facts)
    assert.are.same({ "passed", "failed", "oom", "timeout", "passed", "setup_error" }, statuses(facts))
    assert.are.equal("lint " .. HOSTILE, facts.rows[2].name) -- shown as the text it is
    assert.are.same({ "src/x.c:3: " .. HOSTILE .. "\n", "Killed\n" }, facts.tails)
    -- sorting: numbers (absent last, either way), statuses by severity, names
    local o = facts.orders
    assert.are.same({ 4, 5, 1, 3, 2, 6 }, ids(o["peak memory asc"]))
    assert.are.same({ 3, 1, 5, 4, 2, 6 }, ids(o["peak memory desc"]))
    assert.are.same({ 1, 5, 2, 4, 3, 6 }, ids(o["status asc"]))
    assert.are.same({ 5, 2, 3, 6, 4, 1 }, ids(o["job asc"]))
    assert.are.same({ 1, 4, 6, 3, 2, 5 }, ids(o["job desc"]))
    assert.are.same({ 2, 1, 4, 3, 5, 6 }, ids(o["duration asc"]))
    assert.are.same({ 5, 3, 4, 1, 2, 6 }, ids(o["duration desc"]))
    assert.are.equal("descending", facts.aria_sort)
    -- a memory and a CPU chart for each of the 4 jobs with a timeline, each
    -- with its series drawn, and the limit where the job had one
    assert.are.equal(8, #facts.charts)
    assert.are.equal(8, facts.drawn_total)
    local limits = { ["1memory"] = true, ["3memory"] = true, ["5cpu"] = true }
    for _, c in ipairs(facts.charts) do
      local what = ("chart %s of job %s"):format(c.kind, c.job)
      assert.is_true(c.drawn, what)
      assert.truthy(c.pixels.ink > 2000, what .. ": ink " .. c.pixels.ink)
      local series = c.kind == "memory" and "mem" or "cpu"
      assert.truthy(c.pixels.near[series] > 100, what .. ": series pixels " .. c.pixels.near[series])
      local sets = {}
      for _, s in ipairs(c.chart.sets) do sets[#sets + 1] = s[1] end
      if limits[c.job .. c.kind] then
        assert.are.same({ c.kind == "memory" and "memory" or "CPU", "limit" }, sets, what)
        assert.truthy(c.pixels.near.limit > 50, what .. ": limit pixels " .. c.pixels.near.limit)
      else
        assert.are.equal(1, #sets, what)
        assert.are.equal(0, c.pixels.near.limit, what)
      end
    end
    -- the timeline: a bar per job that ran, in its status's colour
    assert.are.equal(5, facts.gantt_bars)
    for _, colour in ipairs { "ok", "bad", "warn", "oom" } do
      assert.truthy(facts.gantt_pixels.near[colour] > 200, colour .. ": " .. facts.gantt_pixels.near[colour])
    end
  end)

  it("stays quick with 200 jobs: the table whole, charts drawn as they come into view", function()
    local base, results = sample(), {}
    for i = 1, 200 do
      local r = {}
      for k, v in pairs(base[(i - 1) % #base + 1]) do r[k] = v end
      r.name = r.name .. " #" .. i
      if r.started_at then
        r.started_at, r.ended_at = r.started_at + (i // 4) * 3, r.ended_at + (i // 4) * 3
        r.timeline = timeline(500, r.memory_peak or 1 << 20, 0.7)
      end
      results[i] = r
    end
    local facts = look(report.html(results, { title = "200 jobs" }), "200-jobs.png", "--open row-199", "--jobs 199")
    sound(facts)
    assert.are.equal(200, #facts.rows)
    assert.are.equal(167, facts.gantt_bars) -- all but the setup errors
    print(("\n200 jobs: loaded in %.0f ms (DOMContentLoaded %.0f ms)"):format(facts.load_ms, facts.script_ms))
    assert.truthy(facts.load_ms < 5000, facts.load_ms)
    -- the job the row's link opened (closed at first: passed, of many) is drawn
    assert.is_true(facts.opened)
    local drawn = 0
    for _, c in ipairs(facts.charts) do
      if c.job == "199" then
        assert.is_true(c.drawn)
        assert.truthy(c.pixels.ink > 2000)
        drawn = drawn + 1
      end
    end
    assert.are.equal(2, drawn)
  end)

  it("shows what sandboxlua --report wrote for a job list", function()
    local f = H.recipe_file(([[
local function job(name, cmd, limits)
  return { name = name, rootfs = %q, command = { "/bin/sh", "-c", cmd },
           stdio = { stdout = "capture", stderr = "capture" }, limits = limits }
end
return { parallel = 2, jobs = {
  job("fine", "echo ok"),
  job("lint </script><img src=x onerror=window.__pwned=3>", "echo '<img src=x onerror=window.__pwned=4>' >&2; exit 3"),
  job("slow", "sleep 10", { wall = "300ms" }),
} }
]]):format(H.busybox))
    local d = H.tmpdir()
    local out, rc = H.sh(("%s -q --report %s/r.html --json %s/r.json %s"):format(H.bin, d, d, f))
    assert.are.equal(1, rc, out)
    local fh = assert(io.open(d .. "/r.html"))
    local page = fh:read("a")
    fh:close()
    fh = assert(io.open(d .. "/r.json"))
    local results = dkjson.decode(fh:read("a"))
    fh:close()
    os.execute("rm -rf " .. d)
    os.remove(f)
    local facts = look(page, "cli.png")
    sound(facts)
    assert.are.same({ "passed", "failed", "timeout" }, statuses(facts))
    assert.are.same({ "<img src=x onerror=window.__pwned=4>\n" }, facts.tails)
    -- the timeline and charts where the results have what they need (the
    -- sampler's fields), and a page all the same where they do not
    local with_times, with_timeline = 0, 0
    for _, r in ipairs(results) do
      if r.started_at then with_times = with_times + 1 end
      if type(r.timeline) == "table" and type(r.timeline.t) == "table" and #r.timeline.t > 0 then
        with_timeline = with_timeline + 1
      end
    end
    assert.are.equal(with_times, facts.gantt_bars)
    assert.are.equal(2 * with_timeline, facts.canvases)
    for _, c in ipairs(facts.charts) do assert.is_true(c.drawn) end
  end)
end)
