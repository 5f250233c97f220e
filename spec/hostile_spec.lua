-- Hostile input and faults (issue 15): each defect found by the review and
-- the reliability runs, checked through its effect.
local H = require "spec.support.helper"
local sb = H.sb
local core = H.core

local function rerr(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "no error")
  assert.are.equal(sb.RecipeError, getmetatable(e), tostring(e))
  return e.message
end

describe("the plan reader", function()
  it("takes strings only: a number in argv never becomes a dangling string", function()
    collectgarbage("incremental", 1, 1000) -- the collector as eager as it gets
    finally(function() collectgarbage("incremental", 200, 100) end)
    for _ = 1, 200 do
      local ok, e = pcall(core.spawn, { argv = { "/bin/echo", 1234567.5 } })
      assert.is_false(ok)
      assert.truthy(tostring(e):find("plan.argv[2]: expected a string", 1, true), tostring(e))
    end
    assert.truthy(rerr(sb.compile, { command = { "/bin/echo", 1234567.5 } }):find("recipe.command[2]: expected a string", 1, true))
  end)

  it("reads the plan raw: no metamethod of the plan runs, a string made up by __index is not taken", function()
    local plan = sb.compile(H.bb("echo real"))
    local fake = setmetatable({}, { __index = function(_, k) return plan[k] end })
    local ok, e = pcall(core.spawn, fake)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("plan.argv: expected a non-empty list", 1, true), tostring(e))
    -- and a field that is no table, where a table is read, raises (not a crash)
    assert.has_error(function() core.spawn { argv = { "/bin/true" }, mounts = { 1 } } end)
  end)

  it("runs only a typed plan in run_plan and run_all", function()
    local r = H.bb("true")
    assert.has_error(function() sb.run_plan(r, { argv = { "/bin/true" } }) end,
                     "run_plan: expected (recipe, plan), the plan from sb.compile(recipe)")
    assert.has_error(function() sb.run_all({ r }, { plans = { { argv = { "/bin/true" } } } }) end)
    assert.are.equal(sb.recipe.Plan, getmetatable(sb.compile(r)))
  end)
end)

describe("recipe numbers and strings", function()
  it("refuses ids the kernel would read as -1 or cut to root", function()
    for _, uid in ipairs { 4294967296, 4294967295, -1, 2^53 } do
      assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, user = uid })
                    :find("recipe.user.uid: expected an id from 0 to 4294967294", 1, true), tostring(uid))
    end
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, user = { uid = 1, groups = { 4294967295 } } })
                  :find("recipe.user.groups[1]", 1, true))
    assert.has_error(function() core.spawn { argv = { "/bin/true" }, uid = -1 } end, "plan.uid: out of range")
    assert.are.equal(4294967294, sb.compile({ command = { "/bin/true" }, user = 4294967294 }).uid)
  end)

  it("bounds every duration and size: a recipe error, never an overflow", function()
    for _, w in ipairs { 1e300, "2562048h", 366 * 86400, "9999999999s" } do
      assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, limits = { wall = w } })
                    :find("up to a year", 1, true), tostring(w))
    end
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, limits = { cpu_time = 1e300 } }):find("cpu_time", 1, true))
    for _, m in ipairs { 2^63, 2^62, "4096P", "9E" } do
      assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, limits = { memory = m } }):find("recipe.limits.memory", 1, true))
    end
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, limits = { output = 0 } })
                  :find("recipe.limits.output: expected a size of at least one byte", 1, true))
    local r = sb.run(H.bb("sleep 5", { limits = { wall = 365 * 86400 - 1 } }))
    assert.are.equal("exited", r.status) -- a year's wall: allowed, no overflow to "now"
  end)

  it("refuses NUL bytes and holes instead of cutting strings and lists short", function()
    assert.truthy(rerr(sb.compile, { command = { "/bin/echo", "a\0b" } }):find("recipe.command[2]: expected a string without NUL bytes", 1, true))
    assert.truthy(rerr(sb.compile, { command = "echo a\0rm -rf /" }):find("without NUL", 1, true))
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, seccomp = { deny = { "write\0read" } } }):find("without NUL", 1, true))
    assert.truthy(rerr(sb.compile, { command = { "/bin/echo", "a", nil, "c" } }):find("a list without holes (item 3 is missing)", 1, true))
    assert.truthy(rerr(sb.compile, { command = { [1] = "/bin/echo", [3] = "x" } }):find("without holes", 1, true))
  end)

  it("keeps a cgroup parent below the cgroup2 mount: \"..\" is refused before any mkdir", function()
    local escape = "/tmp/sbx-hostile-" .. core.getpid()
    local r = sb.run(H.bb("true", { cgroup = { parent = core.cgroup_mountpoint() .. "/../../.." .. escape } }))
    assert.are.equal("setup_error", r.status)
    assert.truthy(r.message:find('".." is not allowed', 1, true), r.message)
    assert.is_nil(io.open(escape))
  end)

  it("gives every plan its own masked and read-only lists", function()
    local a = sb.compile { command = { "/bin/true" } }
    table.insert(a.masked, "/etc")
    a.readonly[1] = "/changed"
    local b = sb.compile { command = { "/bin/true" } }
    for _, p in ipairs(b.masked) do assert.are_not.equal("/etc", p) end
    assert.are_not.equal("/changed", b.readonly[1])
  end)
end)

describe("what the fuzzers found", function()
  it("keeps every recipe error on one readable line, the user's strings escaped", function()
    local m = rerr(sb.compile, { command = { "/bin/true" }, ["bad\nkey\1"] = 1 })
    assert.are.equal('recipe["bad\\nkey\\x01"]: unknown field', (m:match("^[^(]+"):gsub("%s+$", "")))
    assert.is_nil(m:find("%c"))
    m = rerr(sb.recipe.compile_job, { command = "true", ["\255x"] = 1 })
    assert.truthy(m:find('job["\\xffx"]', 1, true), m)
    m = rerr(sb.compile, { command = { "/bin/true" }, seccomp = { allow = { "read", "wr\tite" } } })
    assert.truthy(m:find('recipe.seccomp.allow[2]: expected a system call name like "openat", got "wr\\tite"', 1, true), m)
    -- UTF-8 text stays as it was written
    m = rerr(sb.compile, { command = { "/bin/true" }, hostname = "caf\195\169" })
    assert.truthy(m:find('got "caf\195\169"', 1, true), m)
  end)

  it("refuses NUL bytes in symlink sources and mount options", function()
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, mounts = { { "symlink", "/a\0b", "/tmp/l" } } })
                  :find("recipe.mounts[1].source: expected a string without NUL bytes", 1, true))
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, mounts = { { "tmpfs", "/tmp", options = "a\0b" } } })
                  :find("recipe.mounts[1].options", 1, true))
  end)

  it("keeps output and umask within what the plan reader takes", function()
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, limits = { output = "2T" } })
                  :find("recipe.limits.output: expected a size of at least one byte, up to 1T", 1, true))
    assert.truthy(rerr(sb.compile, { command = { "/bin/true" }, umask = "7777" }):find("recipe.umask", 1, true))
    -- and what compiles, the C plan reader accepts
    assert.truthy(core.plan_bytes(sb.compile { command = { "/bin/true" }, limits = { output = "1T" }, umask = "0777" }))
  end)

  it("reads a job raw too: an __index trap is not run", function()
    local job = setmetatable({ command = "true" }, { __index = function() error("trapped") end })
    assert.are.same({ "/bin/sh", "-c", "true" }, sb.recipe.compile_job(job).argv)
  end)

  it("formats any number as a size", function()
    local units = require "cgsandbox.units"
    assert.are.equal("-", units.format_size(0 / 0))
    assert.are.equal("-", units.format_size(math.huge))
    assert.are.equal("1B", units.format_size(1.5))
  end)
end)

describe("hostile tables", function()
  local function bounded(fn)
    local t0 = core.now()
    local ok, e = pcall(fn)
    assert.is_true(core.now() - t0 < 2, "took " .. (core.now() - t0) .. " s")
    if not ok then assert.are.equal(sb.RecipeError, getmetatable(e), tostring(e)) end
  end

  it("walks them raw: __pairs, __len and __index traps give recipe errors or nothing, never a hang", function()
    local trap = function() error("trapped") end
    bounded(function() sb.compile(setmetatable({ command = { "/bin/true" } }, { __pairs = trap })) end)
    bounded(function() sb.compile { command = setmetatable({ "/bin/true" }, { __len = function() return math.maxinteger end }) } end)
    bounded(function()
      sb.compile { command = { "/bin/true" }, masked_paths = setmetatable({}, { __index = function() return "/x" end }) }
    end)
    bounded(function() sb.compile { command = { "/bin/true" }, mounts = setmetatable({}, { __len = trap, __index = trap }) } end)
    bounded(function() sb.compile { command = { "/bin/true" }, env = setmetatable({}, { __pairs = trap }) } end)
    -- a list longer than any recipe needs is refused, not walked for ever
    local long = {}
    for i = 1, 70000 do long[i] = "/bin/true" end
    assert.truthy(rerr(sb.compile, { command = long }):find("more than 65536 items", 1, true))
  end)
end)

describe("the cgroup files", function()
  it("are read whole: a long cgroup.procs gives every pid, a cut-off last line none", function()
    local d = H.tmpdir()
    finally(function() os.execute("rm -rf " .. d) end)
    local f = assert(io.open(d .. "/cgroup.procs", "w"))
    for i = 1, 150000 do f:write(1000000 + i, "\n") end
    f:write("4242") -- no newline: a pid cut short, which could name another process
    f:close()
    local cg = assert(sb.cgroup.open(d))
    local pids = assert(cg:pids())
    cg:close()
    assert.are.equal(150000, #pids)
    assert.are.equal(1150000, pids[#pids])
  end)

  it("leave another pid namespace's live jail alone when reaping stale leaves", function()
    -- a host in a pid namespace of its own: from here its pid looks dead
    local f = H.recipe_file(([[return { rootfs = %q, command = "sleep 2; echo survived" }]]):format(H.busybox))
    local out = os.tmpname()
    H.sh(("unshare -pf --mount-proc %s %s > %s 2>&1 &"):format(H.bin, f, out))
    local leaf
    for _ = 1, 200 do
      leaf = H.sh(("ls -d %s/sbx-[0-9]-* %s/sbx-[0-9][0-9]-* 2>/dev/null | head -1")
                  :format(core.cgroup_parent(), core.cgroup_parent())):match("%S+")
      if leaf then break end
      H.sh("sleep 0.02")
    end
    assert.truthy(leaf, "the other host's leaf never appeared")
    -- our own spawns reap stale leaves of this parent: the other one must stay
    core.settle()
    local sub = H.sh("cat /proc/self/status"):match("x") -- (a fresh process here)
    assert.truthy(sub)
    local r = sb.run(H.bb("true", { cgroup = { parent = core.cgroup_parent() } }))
    assert.are.equal("exited", r.status)
    H.sh("sleep 2.5")
    local got = io.open(out):read("a")
    os.remove(out)
    os.remove(f)
    assert.truthy(got:find("survived", 1, true), got)
  end)
end)

describe("the supervisor under faults", function()
  it("counts every OOM kill in on_oom, also when the exit came first #cgroup", function()
    local n, jobs = 0, {}
    for i = 1, 16 do
      jobs[i] = H.job({ "/mnt/hog", "mem", "200" }, { limits = { memory = "32M", swap = 0 },
                                                     on_oom = function() n = n + 1 end })
    end
    local rs = sb.run_all(jobs, { parallel = 4 })
    for _, r in ipairs(rs) do assert.are.equal("oom", r.status) end
    assert.are.equal(16, n)
  end)

  it("holds a wall limit without pid namespace or cgroup, a grandchild keeping the pipe open", function()
    local r = sb.run(H.bb("sleep 30 & sleep 30", { namespaces = { "mount" }, cgroup = false, limits = { wall = "1s" } }))
    assert.are.equal("timeout", r.status)
    assert.is_true(r.wall_s < 3, "took " .. r.wall_s)
    assert.are.equal("", H.sh("pgrep -f '^sleep 30$' || true"):gsub("%s", ""))
  end)

  it("keeps timeouts running while a console's reader stalls", function()
    -- the host's stdout is a pipe nobody reads; one jail floods its console
    local script = H.lua_script(([[
      local flood = assert(sb.spawn { rootfs = %q, tty = true, command = "yes flood", limits = { wall = "6s" } })
      local t0 = sb.core.now()
      local r = sb.run { rootfs = %q, command = { "/bin/sleep", "30" }, limits = { wall = "1s" } }
      io.stderr:write(("timeout-after %%.1f %%s\n"):format(sb.core.now() - t0, r.status))
      flood:kill("KILL")
      flood:wait()
    ]]):format(H.busybox, H.busybox))
    -- its stdout: a pipe whose reader sleeps 6 s before it reads anything
    local err = os.tmpname()
    H.sh(("timeout 30 %s %s 2>%s | { sleep 6; cat >/dev/null; }"):format(H.lua, script, err))
    local out = io.open(err):read("a")
    os.remove(err)
    os.remove(script)
    local secs, status = out:match("timeout%-after (%S+) (%S+)")
    assert.are.equal("timeout", status, out)
    assert.is_true(tonumber(secs) < 4, out)
  end)

  it("finishes a jail whose output cannot be kept for lack of memory", function()
    -- 200 MB of output, a 1 GB limit, but a host that may not map that much
    -- (the plain build: a sanitizer's shadow memory cannot live under ulimit -v)
    local script = H.lua_script(([[
      local r = sb.run { rootfs = %q, command = { "/mnt/hog", "bytes", "209715200", "1" },
                         mounts = { { "bind", %q, "/mnt", ro = true } }, limits = { output = "1G" },
                         stdio = { stdout = "capture" } }
      print(r.status, r.exit_code, #r.stdout, r.output_truncated)
    ]]):format(H.busybox, H.root .. "/build/spec"), H.root .. "/build")
    local out, rc = H.sh(("ulimit -v 150000; timeout 60 lua5.4 %s"):format(script))
    os.remove(script)
    assert.are.equal(0, rc, out)
    local status, code, len, cut = out:match("(%a+)%s+(%d+)%s+(%d+)%s+(%a+)")
    assert.are.equal("exited", status, out)
    assert.are.equal("0", code)
    assert.is_true(tonumber(len) < 209715200)
    assert.are.equal("true", cut)
  end)

  it("lets run_all wait for fds instead of failing jobs (ulimit -n 28, parallel 8)", function()
    local script = H.lua_script(([[
      local jobs = {}
      for i = 1, 32 do jobs[i] = { rootfs = %q, command = "sleep 0.05", stdio = { stdout = "capture", stderr = "capture" } } end
      local bad = 0
      for _, r in ipairs(sb.run_all(jobs, { parallel = 8 })) do if r.status ~= "exited" then bad = bad + 1 end end
      print("failed " .. bad)
    ]]):format(H.busybox))
    local out = H.sh(("ulimit -n 28; %s %s"):format(H.lua, script))
    os.remove(script)
    assert.truthy(out:find("failed 0", 1, true), out)
  end)

  it("leaves no registry anchor behind after many jails", function()
    for _ = 1, 300 do sb.run(H.bb("true", { stdio = {} })) end
    collectgarbage()
    local n = 0
    for _ in pairs(debug.getregistry()["cgsandbox.anchor"] or {}) do n = n + 1 end
    assert.are.equal(0, n)
  end)

  it("refuses signal numbers that would wrap to another signal or to none", function()
    local h = assert(sb.spawn(H.bb("sleep 5")))
    finally(function() h:kill("KILL"); h:wait(); h:close() end)
    for _, s in ipairs { 4294967305, 2^40, 0, -9, 65, 9.5 } do
      assert.has_error(function() h:kill(s) end)
    end
    -- none of them reached the command: it still sleeps
    local st = assert(io.open("/proc/" .. h:command_pid() .. "/stat")):read("a")
    assert.truthy(st:match("^%d+ %b() [RSD] "), st)
  end)

  it("makes every handle method raise after close, wait too", function()
    local h = assert(sb.spawn(H.bb("true")))
    h:wait()
    h:close()
    h:close() -- again: fine
    for _, m in ipairs { "wait", "pid", "kill", "stats", "cgroup", "command_pid", "freeze" } do
      assert.has_error(function() h[m](h) end, "attempt to use a closed jail handle")
    end
  end)
end)

describe("the host's fds", function()
  it("are raised to the hard limit for the host, and the jail keeps the old soft one", function()
    local f = H.recipe_file([[
      for l in io.lines("/proc/self/limits") do
        if l:find("^Max open files") then io.stderr:write("host ", l:match("(%d+)%s+(%d+)"), "\n") end
      end
      return { command = "echo jail $(ulimit -Sn)" }
    ]])
    local out = H.sh(("ulimit -S -n 512; ulimit -H -n 4096; %s %s"):format(H.bin, f))
    os.remove(f)
    assert.truthy(out:find("host 4096", 1, true), out)
    assert.truthy(out:find("jail 512", 1, true), out)
  end)

  it("are enough for a default jail under ulimit -n 16", function()
    local f = H.recipe_file(([[return { rootfs = %q, command = "echo ok", mounts = { { "tmpfs", "/tmp" } } }]]):format(H.busybox))
    local out, rc = H.sh(("ulimit -n 16; %s %s"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.are.equal("ok\n", out)
  end)
end)

describe("a host policy that refuses close_range", function()
  it("still keeps every host fd out of the jail", function()
    local f = H.recipe_file(([[return { rootfs = %q, command = "ls -l /proc/self/fd; grep ^Seccomp: /proc/self/status" }]])
                            :format(H.busybox))
    local out, rc = H.sh(("exec 7</etc/passwd 9</etc/hostname; %s/build/spec/noclose %s %s 2>&1"):format(H.root, H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("Seccomp:%s+2"), out) -- the policy reached the jail, so did the fallback
    assert.is_nil(out:find("passwd", 1, true), out)
    assert.is_nil(out:find("hostname", 1, true), out)
    local fds = {}
    for fd in out:gmatch(" (%d+) %-> ") do fds[#fds + 1] = tonumber(fd) end
    assert.are.same({ 0, 1, 2 }, fds) -- (and ls's own directory fd, which has no target left)
  end)
end)

describe("a command without a pid namespace", function()
  it("dies with its init when the host is killed (its parent-death signal outlives the id change)", function()
    local marker = "4243.5"
    local f = H.recipe_file(([[return { namespaces = { "mount" }, cgroup = false, user = 1000,
                                         command = { "/bin/sleep", %q } }]]):format(marker))
    local pid = H.sh(("%s %s >/dev/null 2>&1 & echo $!"):format(H.bin, f)):match("%d+")
    for _ = 1, 100 do
      if H.sh("pgrep -f '^/bin/sleep " .. marker .. "$' || true"):match("%d") then break end
      H.sh("sleep 0.02")
    end
    assert.truthy(H.sh("pgrep -f '^/bin/sleep " .. marker .. "$' || true"):match("%d"), "never started")
    H.sh("kill -9 " .. pid)
    local gone = false
    for _ = 1, 100 do
      if not H.sh("pgrep -f '^/bin/sleep " .. marker .. "$' || true"):match("%d") then gone = true break end
      H.sh("sleep 0.02")
    end
    os.remove(f)
    assert.is_true(gone, "the command outlived its host")
  end)
end)

describe("long paths", function()
  it("are refused, never cut to a shorter one", function()
    local long = "/" .. ("d"):rep(200) .. ("/" .. ("e"):rep(250)):rep(20)
    local r = sb.run(H.bb("true", { mounts = { { "tmpfs", "/tmp" }, { "dir", "/tmp" .. long } } }))
    assert.are.equal("setup_error", r.status)
    assert.are.equal("ENAMETOOLONG", r.errno, r.message)
  end)
end)
