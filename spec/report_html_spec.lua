-- The report page (report.html, sb.report, sandboxlua --report) as text:
-- what it holds, that nothing from a jail reaches it as markup, and that
-- results without the newer fields (timeline, started_at, limits) still
-- make a page.  spec/report_browser_spec.lua looks at it in a browser.
local H = require "spec.support.helper"
local report = require "cgsandbox.report"

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

local read = H.read

-- the data block: numbers, nulls and the names of the series only
local function data_block(page)
  return page:match('<script type="application/json" id="sbx%-data">(.-)</script>')
end

local HOSTILE = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'

local function timeline(n, peak, cpu)
  local t = { interval = 0.1, t = {}, memory = {}, cpu = {}, pids = {}, io_read = {}, io_write = {},
              psi_cpu = {}, psi_memory = {}, psi_io = {} }
  for i = 1, n do
    t.t[i] = i * 0.1
    t.memory[i] = math.floor(peak * i / n)
    t.cpu[i] = cpu
    t.pids[i] = 1 + i % 3
    t.io_read[i], t.io_write[i] = i * 4096, i * 512
    t.psi_cpu[i], t.psi_memory[i], t.psi_io[i] = 0.1, 0, 0
  end
  return t
end

local T = 1700000000.5
local function sample()
  return {
    { name = "ok", status = "exited", exit_code = 0, wall_s = 1.5, cpu_s = 0.7, memory_peak = 10 << 20,
      memory_max = 64 << 20, cpu_max = 0.5, pids_max = 32, nr_throttled = 3, throttled_s = 0.25,
      started_at = T, ended_at = T + 1.5, timeline = timeline(15, 10 << 20, 0.5), stdout = "fine\n" },
    { name = HOSTILE, status = "exited", exit_code = 1, wall_s = 0.2, cpu_s = 0.1, started_at = T + 0.1,
      ended_at = T + 0.3, stderr = "line 1\n" .. HOSTILE .. "\n\1\255\xC2\x9B bad bytes\n", stdout = "out " .. HOSTILE },
    { name = "hog", status = "oom", exit_code = 137, signal = "SIGKILL", memory_peak = 64 << 20,
      memory_max = 64 << 20, oom_kills = 1, wall_s = 2, started_at = T + 0.3, ended_at = T + 2.3,
      timeline = timeline(20, 64 << 20, 1.0) },
    { name = "slow", status = "timeout", timeout = "wall", exit_code = 137, wall_s = 2, started_at = T + 1.5,
      ended_at = T + 3.5 },
    { status = "setup_error", message = "rootfs " .. HOSTILE .. ": ENOENT", exit_code = 125 },
  }
end

describe("report.html", function()
  it("writes one self-contained page: summary, one table row per job, the timeline, the charts' data", function()
    local page = report.html(sample(), { elapsed_s = 3.5, title = "ci <run>" })
    assert.truthy(page:find("^<!DOCTYPE html>"))
    assert.truthy(page:find("<title>ci &lt;run&gt;</title>", 1, true))
    -- no external resource of any kind, and a policy that fetches none
    local own = page:gsub("Chart.js v3.-</script>", "")
    assert.is_nil(own:find('src="', 1, true))
    assert.is_nil(own:find("https?://"))
    assert.truthy(page:find("default-src 'none'", 1, true))
    -- Chart.js inlined
    assert.truthy(page:find("Chart.js v3", 1, true))
    -- the summary
    assert.truthy(page:find('id="sum-passed"><b>1</b>', 1, true))
    assert.truthy(page:find('id="sum-failed"><b>3</b>', 1, true))
    assert.truthy(page:find('id="sum-timeouts"><b>1</b>', 1, true))
    assert.truthy(page:find('id="sum-ooms"><b>1</b>', 1, true))
    assert.truthy(page:find('id="sum-errors"><b>1</b>', 1, true))
    assert.truthy(page:find('id="sum-wall"><b>3.50s</b>', 1, true))
    -- a row per job, in order, with its status
    local statuses = {}
    for id, st in page:gmatch('<tr id="row%-(%d+)" class="[^"]*" data%-status="([%w_]+)"') do
      statuses[#statuses + 1] = id .. "=" .. st
    end
    assert.are.same({ "1=passed", "2=failed", "3=oom", "4=timeout", "5=setup_error" }, statuses)
    assert.truthy(page:find(">job 5</a>", 1, true)) -- report.name's rule
    -- the limit next to the peak: 10 MiB of 64 MiB
    assert.truthy(page:find("16%", 1, true))
    assert.truthy(page:find("10 MiB of 64 MiB", 1, true))
    assert.truthy(page:find("0.5 CPUs", 1, true))
    -- a Gantt bar for each job with a start, none for the setup error
    assert.are.equal(4, count(page, '<rect class="job'))
    -- charts for the two jobs with a timeline, two each
    assert.are.equal(4, count(page, "<canvas "))
    local data = data_block(page)
    assert.truthy(data:find('"1":{"t":[0.1,0.2', 1, true))
    assert.truthy(data:find('"memory_max":67108864', 1, true))
    assert.truthy(data:find('"cpu_max":0.5', 1, true))
    assert.truthy(data:find('"3":{', 1, true))
    assert.is_nil(data:find('"2":{', 1, true))
  end)

  it("lets nothing from a jail through as markup: names, output and messages are text", function()
    local page = report.html(sample())
    -- exactly the page's own three scripts, the code ones under the nonce
    assert.are.equal(3, count(page, "<script"))
    assert.are.equal(3, count(page, "</script>"))
    local nonce = page:match("script%-src 'nonce%-(%x+)'")
    assert.are.equal(32, #nonce)
    assert.are.equal(2, count(page, '<script nonce="' .. nonce .. '">'))
    assert.is_nil(page:find("<img", 1, true))
    assert.is_nil(page:find("__pwned=1</script>", 1, true))
    assert.is_nil(page:find('onerror="', 1, true))
    -- the name as text, in cells, attributes and titles alike
    local esc = "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;"
    assert.truthy(count(page, esc, 1) >= 4)
    -- the failed job's output: its tail, bytes that are no text as \xNN
    -- (C1 controls too)
    assert.truthy(page:find("\\x01\\xff\\xc2\\x9b bad bytes", 1, true))
    assert.truthy(page:find('<pre class="tail stdout">out &lt;/script&gt;', 1, true))
    -- the setup error's message
    assert.truthy(page:find("rootfs &lt;/script&gt;", 1, true))
    -- the data block is numbers: no byte of a jail's in it
    local data = data_block(page)
    assert.truthy(data:match('^[%w_%.%-+,:%[%]{}"]+$'), data)
    assert.is_nil(data:find("pwned", 1, true))
    -- a fresh nonce per page
    assert.are_not.equal(nonce, report.html(sample()):match("script%-src 'nonce%-(%x+)'"))
  end)

  it("makes a page of results without a timeline, start times or limits (and of none)", function()
    local page = report.html({ { status = "exited", exit_code = 0 }, { status = "skipped" } })
    assert.truthy(page:find('id="gantt-none"', 1, true))
    assert.are.equal(2, count(page, "No timeline recorded"))
    assert.are.equal(0, count(page, "<canvas "))
    assert.truthy(page:find('id="sum-skipped"><b>1</b>', 1, true))
    assert.truthy(data_block(page) == '{"jobs":{}}')
    local empty = report.html({})
    assert.truthy(empty:find('<tbody>\n</tbody>', 1, true))
    assert.truthy(empty:find('id="sum-passed"><b>0</b>', 1, true))
  end)

  it("takes ragged or odd timelines: short series, NaN and infinities, no t", function()
    local tl = { t = { 0.1, 0.2, 0.3 }, memory = { 1, 0 / 0 }, cpu = { math.huge, 0.5, 0.25 } }
    local page = report.html({ { status = "exited", exit_code = 0, timeline = tl },
                               { status = "exited", exit_code = 0, timeline = { memory = { 1 } } },
                               { status = "exited", exit_code = 0, timeline = "junk", started_at = "x" } })
    assert.truthy(data_block(page):find('"1":{"t":[0.1,0.2,0.3],"memory":[1,null,null],"cpu":[null,0.5,0.25]', 1, true))
    assert.are.equal(2, count(page, "No timeline recorded"))
  end)

  it("keeps a long timeline to max_points, each bucket's memory at its maximum", function()
    local tl = timeline(10000, 1 << 30, 1.0)
    tl.memory[7777] = 3 << 30 -- one spike
    local page = report.html({ { status = "exited", exit_code = 0, timeline = tl, memory_peak = 3 << 30 } },
                             { max_points = 250 })
    local mem = data_block(page):match('"memory":%[([^%]]*)%]')
    assert.are.equal(250, count(mem, "[^,]+"))
    assert.truthy(mem:find(tostring(3 << 30), 1, true))
  end)

  it("draws many jobs in lanes (jobs that did not overlap share one)", function()
    local results = {}
    for i = 1, 200 do
      -- 4 at a time, each 1s
      local s = T + (i - 1) // 4
      results[i] = { name = "job" .. i, status = "exited", exit_code = 0, wall_s = 1, started_at = s, ended_at = s + 1 }
    end
    local page = report.html(results)
    assert.are.equal(200, count(page, '<tr id="row%-'))
    assert.are.equal(200, count(page, '<rect class="job'))
    assert.are.equal(4, count(page, "<div>slot %d+</div>"))
    -- a page of many jobs opens the failed ones only
    results[7].status, results[7].exit_code = "exited", 2
    page = report.html(results)
    assert.are.equal(1, count(page, '<details class="job[^"]*" id="job%-%d+" open>'))
  end)

  it("shows the tail of a failed job's output only", function()
    local lines = {}
    for i = 1, 100 do lines[i] = "line " .. i end
    local out = table.concat(lines, "\n") .. "\n"
    local page = report.html({ { name = "bad", status = "exited", exit_code = 1, stderr = out },
                               { name = "good", status = "exited", exit_code = 0, stderr = "GOOD OUTPUT\n" } },
                             { lines = 5 })
    assert.truthy(page:find("<h4>stderr (last 5 lines)</h4><pre class=\"tail stderr\">line 96\nline 97", 1, true))
    assert.is_nil(page:find("line 95\n", 1, true))
    assert.is_nil(page:find("GOOD OUTPUT", 1, true))
    assert.is_nil(report.html({ { status = "exited", exit_code = 1, stderr = out } }, { lines = 0 })
                  :find("line 100", 1, true))
  end)

  it("is quick with 200 jobs of 2000 points each", function()
    local results = {}
    for i = 1, 200 do
      results[i] = { name = "job" .. i, status = "exited", exit_code = i % 7 == 0 and 1 or 0, wall_s = 200,
                     started_at = T + i, ended_at = T + i + 200, memory_peak = 1 << 28, memory_max = 1 << 29,
                     timeline = timeline(2000, 1 << 28, 0.9), stderr = ("x"):rep(100) .. "\n" }
    end
    local t0 = os.clock()
    local page = report.html(results)
    local took = os.clock() - t0
    print(("\n200 jobs x 2000 points: %d KiB in %.0f ms"):format(#page // 1024, took * 1000))
    assert.truthy(took < 2, took)
    assert.truthy(#page < 4 * 1024 * 1024, #page)
  end)

  it("refuses what is not results or options, and says which package Chart.js comes in", function()
    assert.has_error(function() report.html("x") end, "report.html: expected a list of results")
    assert.has_error(function() report.html({ {} }) end, "report.html: results[1]: expected a result table with a status")
    assert.has_error(function() report.html({}, { lines = -1 }) end, "report.html: lines: expected an integer >= 0")
    assert.has_error(function() report.html({}, { max_points = 0 }) end, "report.html: max_points: expected an integer >= 1")
    assert.has_error(function() report.html({}, { title = 3 }) end, "report.html: title: expected a string")
    local ok, err = pcall(report.html, {}, { chartjs = "/nonexistent/chart.min.js" })
    assert.is_false(ok)
    assert.truthy(err:find("Chart.js not found", 1, true) and err:find("libjs-chart.js", 1, true), err)
  end)
end)

describe("sb.report", function()
  it("writes the page of a list of results, or of one result", function()
    local d = H.tmpdir()
    assert.is_true(H.sb.report(sample(), d .. "/r.html", { title = "mine" }))
    assert.truthy(read(d .. "/r.html"):find("<title>mine</title>", 1, true))
    assert.is_true(H.sb.report({ status = "exited", exit_code = 0, name = "one" }, d .. "/one.html"))
    assert.are.equal(1, count(read(d .. "/one.html"), '<tr id="row%-'))
    local ok, err = H.sb.report(sample(), d .. "/no/such/dir.html")
    assert.is_nil(ok)
    assert.truthy(err:find("No such file", 1, true))
    ok, err = H.sb.report(sample(), d .. "/x.html", { chartjs = d .. "/none.js" })
    assert.is_nil(ok)
    assert.truthy(err:find("libjs-chart.js", 1, true))
    assert.has_error(function() H.sb.report(sample()) end, "report: expected a file path")
    assert.has_error(function() H.sb.report(nil, "x") end, "report: expected a result or a list of results")
    os.execute("rm -rf " .. d)
  end)
end)

describe("sandboxlua --report", function()
  local d
  before_each(function() d = H.tmpdir() os.execute("chmod 777 " .. d) end)
  after_each(function() os.execute("rm -rf " .. d) end)

  -- a job list over busybox: one passes, one fails (markup in its name and
  -- output), one runs out of time; each leaves a mark in d when it runs
  local function jobs()
    return H.recipe_file(([[
local function job(name, cmd, limits)
  return { name = name, rootfs = %q, command = { "/bin/sh", "-c", "touch /mnt/ran-$$; " .. cmd },
           mounts = { { "bind", %q, "/mnt" } },
           stdio = { stdout = "capture", stderr = "capture" }, limits = limits }
end
return { parallel = 2, jobs = {
  job("fine", "echo ok"),
  job("<b>lint</b>", "echo '<img src=x onerror=alert(1)>' >&2; exit 3"),
  job("slow", "sleep 10", { wall = "300ms" }),
} }
]]):format(H.busybox, d))
  end

  it("writes the page next to the JSON and JUnit outputs, which stay as they were", function()
    local f = jobs()
    local out, rc = H.sh(("%s -q --report %s/r.html --json %s/r.json --junit %s/r.xml %s"):format(H.bin, d, d, d, f))
    assert.are.equal(1, rc, out)
    local page = read(d .. "/r.html")
    local statuses = {}
    for st in page:gmatch('<tr id="row%-%d+" class="[^"]*" data%-status="([%w_]+)"') do statuses[#statuses + 1] = st end
    assert.are.same({ "passed", "failed", "timeout" }, statuses)
    assert.truthy(page:find("&lt;b&gt;lint&lt;/b&gt;", 1, true))
    assert.truthy(page:find("&lt;img src=x onerror=alert(1)&gt;", 1, true))
    assert.truthy(page:find("<title>sandboxlua: " .. f:match("[^/]+$") .. "</title>", 1, true))
    assert.truthy(read(d .. "/r.json"):find('"name": "<b>lint</b>"', 1, true))
    assert.truthy(read(d .. "/r.xml"):find('<testsuite name="', 1, true))
    os.remove(f)
  end)

  it("checks the page's path and Chart.js before any job runs", function()
    local f = jobs()
    local out, rc = H.sh(("%s --report %s/no/such/r.html %s"):format(H.bin, d, f))
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("--report: " .. d .. "/no/such/r.html: No such file or directory", 1, true), out)
    out, rc = H.sh(("SANDBOXLUA_CHARTJS=%s/none.js %s --report %s/r.html %s"):format(d, H.bin, d, f))
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("--report: Chart.js not found", 1, true) and out:find("libjs-chart.js", 1, true), out)
    assert.are.equal("", H.sh("ls " .. d)) -- no job ran, no page
    os.remove(f)
  end)

  it("writes a one-row page for a single recipe and for run", function()
    local out, rc = H.host(("return { rootfs = %q, command = { '/bin/sh', '-c', 'exit 4' } }"):format(H.busybox),
                           "", "--report " .. d .. "/one.html")
    assert.are.equal(4, rc, out)
    local page = read(d .. "/one.html")
    assert.are.equal(1, count(page, '<tr id="row%-'))
    assert.truthy(page:find('data-status="failed"', 1, true))
    out, rc = H.sh(("%s run --report %s/run.html -- /bin/true"):format(H.bin, d))
    assert.are.equal(0, rc, out)
    assert.truthy(read(d .. "/run.html"):find('data-status="passed"', 1, true))
  end)

  it("costs a run without it nothing: the page's module is not loaded", function()
    local out, rc = H.host('return package.loaded["cgsandbox.report_html"] == nil and 0 or 3')
    assert.are.equal(0, rc, out)
  end)
end)
