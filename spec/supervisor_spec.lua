-- The io_uring supervisor: many jails at once, timeouts, output capture,
-- live control, hooks.
local H = require "spec.support.helper"
local sb = H.sb

local job = H.job

-- the bytes `hog bytes N SEED` writes, made on the host for comparison
local function hog_bytes(n, seed)
  local p = assert(io.popen(("%s/build/spec/hog bytes %d %d"):format(H.root, n, seed), "r"))
  local s = p:read("a")
  p:close()
  return s
end

local function snapshot()
  return { fds = H.fds(), leaves = H.leaves(), children = H.children() }
end

local function assert_clean(before)
  local after = snapshot()
  assert.are.equal(before.fds, after.fds, "fd leaked")
  assert.are.equal(0, after.leaves, "cgroup leaf left behind")
  assert.are.equal(before.children, after.children, "process left behind")
end

local function alive(pattern)
  -- host-side: any process whose command line matches (spec-unique marker)
  local out = H.sh("ps -eo args= | grep -F -- '" .. pattern .. "' | grep -v grep")
  return out ~= ""
end

describe("the supervisor", function()
  setup(function() assert.are.equal(0, H.run("true").exit_code) end)

  it("runs 50 jails 8 at a time, every result right and in order, nothing left", function()
    local before = snapshot()
    local jobs = {}
    for i = 1, 50 do
      jobs[i] = job({ "/bin/sh", "-c", ("echo job-%d; exit %d"):format(i, i % 7) }, { name = "j" .. i })
    end
    local seen = 0
    local maxrun = 0
    local results = sb.run_all(jobs, { parallel = 8, on_result = function() seen = seen + 1 end,
                                       on_progress = function(_, _, running) maxrun = math.max(maxrun, running) end })
    assert.are.equal(50, #results)
    assert.are.equal(50, seen)
    for i, r in ipairs(results) do
      assert.are.equal("exited", r.status)
      assert.are.equal(i % 7, r.exit_code)
      assert.are.equal(("job-%d\n"):format(i), r.stdout)
      assert.are.equal("j" .. i, r.name)
    end
    assert.is_true(maxrun <= 8 and maxrun >= 2, "max running " .. maxrun)
    assert_clean(before)
  end)

  it("reports setup errors of a job list as those jobs' results, the others unharmed", function()
    local before = snapshot()
    local rs = sb.run_all({
      job({ "/bin/echo", "one" }),
      job({ "/bin/true" }, { rootfs = "/nonexistent/rootfs" }),
      job({ "/no/such/command" }),
      job({ "/bin/echo", "four" }),
    }, { parallel = 4 })
    assert.are.equal("one\n", rs[1].stdout)
    assert.are.equal("setup_error", rs[2].status)
    assert.are.equal(125, rs[2].exit_code)
    assert.are.equal("rootfs /nonexistent/rootfs: No such file or directory", rs[2].message)
    assert.are.equal("setup_error", rs[3].status)
    assert.are.equal(127, rs[3].exit_code)
    assert.are.equal("exec", rs[3].step)
    assert.are.equal("four\n", rs[4].stdout)
    assert_clean(before)
  end)

  it("kills a sleeper at its wall limit: status timeout", function()
    local before = snapshot()
    local r = sb.run(job({ "/bin/sleep", "100" }, { limits = { wall = "1s" } }))
    assert.are.equal("timeout", r.status)
    assert.are.equal("wall", r.timeout)
    assert.is_true(r.wall_s >= 1 and r.wall_s < 10, tostring(r.wall_s))
    assert_clean(before)
  end)

  it("kills every descendant at the wall limit, not just the main pid", function()
    local before = snapshot()
    local r = sb.run(job({ "/bin/sh", "-c", "sleep 1234 & sleep 1235" }, { limits = { wall = "1s" } }))
    assert.are.equal("timeout", r.status)
    assert.is_true(r.wall_s < 10)
    assert.is_false(alive("sleep 1234"))
    assert.is_false(alive("sleep 1235"))
    assert_clean(before)
  end)

  it("enforces a CPU-time limit from cpu.stat", function()
    local r = sb.run(job({ "/mnt/hog", "spin", "30" }, { limits = { cpu_time = "0.5s" } }))
    assert.are.equal("timeout", r.status)
    assert.are.equal("cpu", r.timeout)
    assert.is_true(r.cpu_s >= 0.5, tostring(r.cpu_s))
    assert.is_true(r.wall_s < 20)
  end)

  it("captures binary output byte-exact, larger than a pipe buffer", function()
    local n = 3 * 1024 * 1024 + 17
    local r = sb.run(job({ "/mnt/hog", "bytes", tostring(n), "7" }))
    assert.are.equal(0, r.exit_code)
    assert.are.equal(n, #r.stdout)
    assert.is_true(r.stdout == hog_bytes(n, 7), "captured bytes differ")
    assert.is_nil(r.output_truncated)
  end)

  it("captures stdout and stderr apart", function()
    local r = sb.run(job({ "/bin/sh", "-c", "echo out; echo err >&2; echo out2" }))
    assert.are.equal("out\nout2\n", r.stdout)
    assert.are.equal("err\n", r.stderr)
  end)

  it("truncates at limits.output and says so", function()
    local r = sb.run(job({ "/mnt/hog", "bytes", "1000000", "3" }, { limits = { output = "64K" } }))
    assert.are.equal(0, r.exit_code) -- the command was not blocked by the limit
    assert.are.equal(65536, #r.stdout)
    assert.is_true(r.output_truncated)
    assert.is_true(r.stdout == hog_bytes(65536, 3), "kept bytes differ from the stream's start")
  end)

  it("feeds stdin from a Lua string, a file, or /dev/null", function()
    local r = sb.run(job({ "/bin/sh", "-c", "wc -c; cat" }, { stdio = { stdin = { data = "abc\0def" }, stdout = "capture" } }))
    assert.are.equal("7\n", r.stdout)
    -- the data is a sealed memfd: the jail cannot change what it reads
    r = sb.run(job({ "/bin/sh", "-c", "echo x 2>/dev/null >> /proc/self/fd/0; echo rc=$?; cat" },
                   { stdio = { stdin = { data = "kept\n" }, stdout = "capture" } }))
    assert.are.equal("rc=1\nkept\n", r.stdout)
    local tmp = os.tmpname()
    local fh = io.open(tmp, "w")
    fh:write("from a file\n")
    fh:close()
    r = sb.run(job({ "/bin/cat" }, { stdio = { stdin = tmp, stdout = "capture" } }))
    assert.are.equal("from a file\n", r.stdout)
    r = sb.run(job({ "/bin/sh", "-c", "cat; echo done" }, { stdio = { stdin = "null", stdout = "capture" } }))
    assert.are.equal("done\n", r.stdout)
    -- stdout to a file
    r = sb.run(job({ "/bin/echo", "to-file" }, { stdio = { stdout = tmp } }))
    assert.are.equal(0, r.exit_code)
    fh = io.open(tmp)
    assert.are.equal("to-file\n", fh:read("a"))
    fh:close()
    os.remove(tmp)
  end)

  it("tells apart a SIGKILL from outside and an exit 3", function()
    local h1 = assert(sb.spawn(job({ "/bin/sleep", "100" })))
    local h2 = assert(sb.spawn(job({ "/bin/sh", "-c", "exit 3" })))
    finally(function() h1:close() h2:close() end)
    H.sh("sleep 0.2")
    -- from outside: a plain kill(2) of the jail's init, by its host pid
    H.sh("kill -KILL " .. h1:pid())
    local r1, r2 = h1:wait(), h2:wait()
    assert.are.equal("signaled", r1.status)
    assert.are.equal("SIGKILL", r1.signal)
    assert.are.equal(137, r1.exit_code)
    assert.are.equal("exited", r2.status)
    assert.are.equal(3, r2.exit_code)
  end)

  it("freezes a jail: its CPU use stops growing until thaw", function()
    local h = assert(sb.spawn(job({ "/mnt/hog", "spin", "30" })))
    finally(function() h:close() end)
    H.sh("sleep 0.3")
    assert(h:freeze())
    H.sh("sleep 0.2")
    local a = h:stats().cpu_s
    H.sh("sleep 0.5")
    local b = h:stats().cpu_s
    assert.is_true(b - a < 0.02, ("grew %.3fs while frozen"):format(b - a))
    assert(h:thaw())
    H.sh("sleep 0.5")
    local c = h:stats().cpu_s
    assert.is_true(c - b > 0.1, ("grew only %.3fs after thaw"):format(c - b))
    assert(h:kill())
    assert.are.equal("signaled", h:wait().status)
  end)

  it("reports a Lua error in on_exit and still cleans up", function()
    local before = snapshot()
    local r = sb.run(job({ "/bin/true" }, { on_exit = function() error("boom in hook") end }))
    assert.are.equal("exited", r.status)
    assert.are.equal(1, #r.hook_errors)
    assert.truthy(r.hook_errors[1]:find("hook on_exit failed: .*boom in hook"))
    assert.truthy(r.hook_errors[1]:find("stack traceback", 1, true))
    assert_clean(before)
  end)

  it("runs a plan compiled once (sb.run_plan) with the recipe's hooks; a call without the plan raises", function()
    local seen
    local r = job({ "/bin/sh", "-c", "echo $X" }, { env = { X = "planned" },
                                                   on_exit = function(res) seen = res.status end })
    local plan = sb.compile(r)
    for _ = 1, 2 do
      seen = nil
      local res = sb.run_plan(r, plan)
      assert.are.equal("planned\n", res.stdout)
      assert.are.equal("exited", seen)
    end
    local ok, err = pcall(sb.run_plan, plan)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("run_plan: expected (recipe, plan)", 1, true), tostring(err))
  end)

  it("runs on_start, on_timeout and on_exit hooks in order", function()
    local log = {}
    local r = sb.run(job({ "/bin/sleep", "100" }, {
      limits = { wall = "0.5s" },
      on_start = function(h) log[#log + 1] = "start:" .. tostring(h:pid() > 0) end,
      on_timeout = function() log[#log + 1] = "timeout" end,
      on_exit = function(res) log[#log + 1] = "exit:" .. res.status end,
    }))
    assert.are.equal("timeout", r.status)
    assert.are.same({ "start:true", "timeout", "exit:timeout" }, log)
  end)

  it("lets coroutines wait on jails while others progress (sb.go / sb.loop)", function()
    local order = {}
    sb.go(function()
      local r = sb.run(job({ "/bin/sh", "-c", "sleep 0.6; echo slow" }))
      order[#order + 1] = r.stdout
    end)
    sb.go(function()
      local r = sb.run(job({ "/bin/sh", "-c", "echo fast" }))
      order[#order + 1] = r.stdout
    end)
    local t0 = H.core.now()
    assert(sb.loop())
    assert.are.same({ "fast\n", "slow\n" }, order)
    assert.is_true(H.core.now() - t0 < 5)
  end)

  it("never reaps a child the host program started itself", function()
    local p = io.popen("sleep 0.3; echo mine")
    local r = sb.run(job({ "/bin/true" }))
    assert.are.equal(0, r.exit_code)
    assert.are.equal("mine\n", p:read("a"))
    local ok, how, code = p:close()
    assert.is_true(ok)
    assert.are.equal("exit", how)
    assert.are.equal(0, code)
  end)

  it("OOM kills are seen as they happen (on_oom) #cgroup", function()
    local seen = 0
    local r = sb.run(job({ "/mnt/hog", "mem", "200" }, { limits = { memory = "32M", swap = 0 },
                                                         on_oom = function() seen = seen + 1 end }))
    assert.are.equal("oom", r.status)
    assert.is_true(seen >= 1)
  end)
end)

describe("the host with a job list", function()
  it("prints a summary, writes JSON and JUnit, and exits 1 when a job failed", function()
    local dir = H.tmpdir()
    local out, rc = H.host(([[
      local function j(name, cmd) return { name = name, rootfs = %q, command = { "/bin/sh", "-c", cmd },
                                           stdio = { stdout = "capture" } } end
      return { parallel = 2, jobs = { j("pass", "echo ok"), j("fail", "exit 3"), j("slow", "sleep 0.2") } }
    ]]):format(H.busybox), "", ("--json %s/r.json --junit %s/r.xml"):format(dir, dir))
    assert.are.equal(1, rc)
    assert.truthy(out:find("job%s+status%s+exit%s+wall%s+cpu%s+peak mem"), out)
    assert.truthy(out:find("\nfail%s+exited%s+3"), out)
    local js = io.open(dir .. "/r.json"):read("a")
    assert.truthy(js:find('"name": "pass"', 1, true))
    assert.truthy(js:find('"stdout": "ok\\n"', 1, true))
    local xml = io.open(dir .. "/r.xml"):read("a")
    assert.truthy(xml:find('<testsuite name="[^"]*" tests="3" failures="1" errors="0"'), xml)
    assert.truthy(xml:find('<testcase classname="[^"]*" name="fail"[^>]*><failure message="status exited, exit 3"'), xml)
    os.execute("rm -rf " .. dir)
  end)

  it("kills all its jails and cleans up on SIGTERM", function()
    local f = os.tmpname()
    local fh = io.open(f, "w")
    local marker = "sleep 4321"
    fh:write([[
      local jobs = {}
      for i = 1, 3 do jobs[i] = { command = { "/bin/sh", "-c", "sleep 4321" } } end
      return jobs
    ]])
    fh:close()
    local pid = H.sh(("%s -q --parallel 3 %s >/dev/null 2>&1 & echo $!"):format(H.bin, f)):match("%d+")
    for _ = 1, 100 do
      if alive(marker) then break end
      H.sh("sleep 0.05")
    end
    assert.is_true(alive(marker))
    local parent = H.core.cgroup_parent()
    H.sh("kill -TERM " .. pid)
    for _ = 1, 100 do
      if not H.sh("ps -p " .. pid .. " -o stat="):match("^%u") or H.sh("ps -p " .. pid .. " -o stat="):match("^Z") then break end
      H.sh("sleep 0.05")
    end
    assert.is_false(alive(marker))
    assert.are.equal("", H.sh(("(find %s -maxdepth 1 -name 'sbx-%s-*' 2>/dev/null)"):format(parent, pid)))
    -- the default parent went with it, unless another host's leaves
    -- keep it (specs do not assume they run alone)
    local still = io.open(parent .. "/cgroup.procs")
    if still then
      still:close()
      assert.are_not.equal("", H.sh(("(find %s -mindepth 1 -maxdepth 1 -type d 2>/dev/null)"):format(parent)))
    end
    os.remove(f)
  end)

  it("writes one result as JSON for a single recipe", function()
    local tmp = os.tmpname()
    local _, rc = H.host([[return { command = { "/bin/sh", "-c", "exit 5" } }]], "", "--json " .. tmp)
    assert.are.equal(5, rc)
    local js = io.open(tmp):read("a")
    assert.truthy(js:find('"exit_code": 5', 1, true))
    assert.truthy(js:find('"status": "exited"', 1, true))
    assert.truthy(js:find('"wall_s": ', 1, true))
    os.remove(tmp)
  end)
end)
