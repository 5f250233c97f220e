-- cgroup v2: born in the leaf, limits written before the child exists and
-- read back through the kernel, results from the kernel's own files,
-- nothing left on any exit path.  "#cgroup" specs need the v2 controllers
-- (natively, or in the test VM); the rest runs on any cgroup2 mount.
local H = require "spec.support.helper"
local sb = H.sb

-- the busybox rootfs with the hog payload at /mnt/hog
local job = H.job

local blockdev = H.blockdev

local function relpath(abs)
  return abs:sub(#H.core.cgroup_mountpoint() + 1)
end

describe("the jail's cgroup", function()
  it("holds the command from its first instruction (CLONE_INTO_CGROUP)", function()
    -- without a cgroup namespace, /proc/self/cgroup shows the real path
    local r = sb.run(job({ "/mnt/hog", "cgroup" }, { namespaces = { "pid", "mount", "uts", "ipc", "net" } }))
    assert.are.equal(0, r.exit_code)
    assert.are.equal("0::" .. relpath(r.cgroup), r.stdout:match("0::[^\n]*"))
    assert.truthy(r.cgroup:find("/sbx%-%d+%-%d+%-%d+$"))
  end)

  it("holds the command from its first instruction on the fallback path too", function()
    -- kernels before 5.7 refuse CLONE_INTO_CGROUP: the child then waits
    -- until the host has written its pid to cgroup.procs
    local plan = sb.compile(job({ "/mnt/hog", "cgroup" }, { namespaces = { "pid", "mount", "uts", "ipc", "net" } }))
    plan.no_into_cgroup = true
    local jail = assert(H.core.spawn(plan))
    local r
    repeat
      for _, e in ipairs(H.core.step(-1)) do
        if e[1] == jail and e[2] == "exit" then r = jail:result() end
      end
    until r
    jail:close()
    assert.are.equal(0, r.exit_code)
    assert.are.equal("0::" .. relpath(r.cgroup), r.stdout:match("0::[^\n]*"))
  end)

  it("is the root of the jail's cgroup namespace", function()
    local r = sb.run(job({ "/mnt/hog", "cgroup" }))
    assert.are.equal("0::/\n", r.stdout:match("0::[^\n]*\n"))
  end)

  it("reports CPU time from cpu.stat", function()
    local r = sb.run(job({ "/mnt/hog", "spin", "0.3" }))
    assert.are.equal(0, r.exit_code)
    assert.is_true(r.cpu_s > 0.1, "cpu_s " .. tostring(r.cpu_s))
    assert.is_true(r.cpu_user_s > 0.05)
    assert.is_true(r.cpu_s <= r.wall_s * 2.2)
  end)

  it("can be driven from Lua: create, freeze, stats, kill, close", function()
    local cg = assert(sb.cgroup.create {})
    local path = cg:path()
    assert.truthy(path:find("/sbx%-"))
    assert(cg:freeze(true))
    assert.truthy(cg:get("cgroup.events"):find("frozen 1", 1, true))
    assert(cg:freeze(false))
    assert.is_table(cg:stats())
    assert(cg:kill())
    local nilv, msg, errno = cg:get("no.such.file")
    assert.is_nil(nilv)
    assert.truthy(msg:find("read no.such.file", 1, true))
    assert.are.equal("ENOENT", errno)
    local none, bad, einval = cg:get("../cgroup.procs")
    assert.is_nil(none)
    assert.truthy(bad:find("bad cgroup file", 1, true))
    assert.are.equal("EINVAL", einval)
    do
      local c <close> = cg
    end
    assert.is_nil(io.open(path .. "/cgroup.procs"))
    assert.has_error(function() cg:get("cgroup.events") end, "attempt to use a closed cgroup")
  end)

  it("refuses a limit whose controller is missing, saying why (exit 125)", function()
    -- a parent of ours whose own parent hands down no memory controller
    local top = assert(sb.cgroup.create {})
    local parent = top:path() .. "/nomem"
    H.sh("mkdir " .. parent)
    local out, rc = H.host([[return { command = { "/bin/true" }, limits = { memory = "64M" } }]], "",
                           "--cgroup-parent " .. parent)
    assert.are.equal(125, rc)
    assert.truthy(out:find("^sandboxlua: controller memory is "), out)
    assert.truthy(out:find("mark the limit optional", 1, true), out)
    -- optional: runs without it, and says so
    local r = sb.run { command = { "/bin/true" }, cgroup = { parent = parent },
                       limits = { memory = "64M", optional = true } }
    assert.are.equal("exited", r.status)
    assert.are.same({ "memory" }, r.skipped_controllers)
    top:close()
  end)

  it("leaves no leaf after a normal exit, a signal, or a setup failure", function()
    local parent = H.core.cgroup_parent()
    for _, r in ipairs {
      sb.run(job({ "/bin/true" })),
      sb.run(job({ "/bin/sh", "-c", "kill -KILL $$" })),
      sb.run(job({ "/bin/true" }, { rootfs = "/nonexistent" })),
      sb.run(job({ "/no/such/cmd" })),
    } do
      assert.is_string(r.status)
    end
    assert.are.equal(0, H.leaves(parent))
  end)

  it("reaps the leaf of a host that was SIGKILLed mid-run on the next run", function()
    local f = os.tmpname()
    local fh = io.open(f, "w")
    fh:write([[return { command = { "/bin/sleep", "100" } }]])
    fh:close()
    local pid = H.sh(("%s %s >/dev/null 2>&1 & echo $!"):format(H.bin, f)):match("%d+")
    local parent = H.core.cgroup_parent()
    local leaf
    for _ = 1, 100 do
      leaf = H.sh(("find %s -maxdepth 1 -name 'sbx-%s-*'"):format(parent, pid)):match("[^\n]+")
      if leaf then break end
      H.sh("sleep 0.05")
    end
    assert.truthy(leaf, "no leaf for host " .. pid)
    H.sh("sleep 0.3; kill -KILL " .. pid)
    -- the host is gone; its jail dies with it (PDEATHSIG on the init):
    -- give the kernel up to 5 s to tear the namespace down
    local procs
    for _ = 1, 100 do
      procs = H.sh("cat " .. leaf .. "/cgroup.procs 2>/dev/null")
      if procs == "" then break end
      H.sh("sleep 0.05")
    end
    assert.are.equal("", procs)
    assert.truthy(io.open(leaf .. "/cgroup.procs"), "leaf should still exist before the next run")
    -- the next run (a fresh host) reaps it
    local _, rc = H.host([[return { command = { "/bin/true" } }]])
    assert.are.equal(0, rc)
    assert.is_nil(io.open(leaf .. "/cgroup.procs"))
    os.remove(f)
  end)
end)

describe("limits #cgroup", function()
  it("land in their files before the command runs, read back through the kernel", function()
    local dev = blockdev()
    assert.truthy(dev, "io.max needs a block device (the test VM has a scratch disk)")
    local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = {
      memory = "64M", memory_high = "60M", memory_low = "1M", memory_min = "512K", swap = 0,
      oom_group = true, cpu = 0.5, cpu_weight = 200, cpuset = { cpus = "0", mems = "0" }, pids = 16,
      io = { [dev] = { rbps = "10M", wiops = 100 } },
    } })))
    finally(function() h:close() end)
    local expect = {
      ["memory.max"] = "67108864", ["memory.high"] = "62914560", ["memory.low"] = "1048576",
      ["memory.min"] = "524288", ["memory.swap.max"] = "0", ["memory.oom.group"] = "1",
      ["cpu.max"] = "50000 100000", ["cpu.weight"] = "200", ["cpuset.cpus"] = "0",
      ["cpuset.mems"] = "0", ["pids.max"] = "16",
    }
    for file, v in pairs(expect) do
      assert.are.equal(v, h:get(file), file)
    end
    assert.truthy(h:get("io.max"):find(dev .. " rbps=10485760 wbps=max riops=max wiops=100", 1, true), h:get("io.max"))
  end)

  it("take a cpu.max period and Docker's cpu.shares, read back through the kernel", function()
    local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = { cpu = 0.5, cpu_period = "50ms", cpu_shares = 512 } })))
    finally(function() h:close() end)
    assert.are.equal("25000 50000", h:get("cpu.max"))
    assert.are.equal("59", h:get("cpu.weight")) -- crun's and runc's conversion: 1024 would be 100
  end)

  it("put what the kernel says at exit in the result: PSI, memory.stat, oom, periods, swap", function()
    -- a busy loop held to a fifth of a CPU: it waits, and PSI says so
    local r = sb.run(job({ "/bin/sh", "-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done" },
                         { limits = { cpu = 0.2, cpu_period = "10ms" } }))
    assert.are.equal("exited", r.status)
    assert.is_true(r.pressure.cpu.some.total_s > 0, tostring(r.pressure.cpu.some.total_s))
    assert.is_true(r.pressure.cpu.some.avg10 > 0, tostring(r.pressure.cpu.some.avg10))
    assert.is_true(r.nr_periods > 0 and r.nr_throttled > 0)
    assert.is_number(r.pressure.memory.full.total_s)
    assert.is_number(r.pressure.io.some.avg300)
    -- memory.stat and the oom counter after an OOM kill
    local o = sb.run(job({ "/mnt/hog", "mem", "200" }, { limits = { memory = "50M", swap = 0 } }))
    assert.are.equal("oom", o.status)
    assert.is_true(o.oom_events >= 1)
    assert.is_number(o.memory_stat.anon)
    assert.is_number(o.memory_stat.kernel)
    assert.is_number(o.memory_swap_current)
    assert.is_number(o.swap_max_events)
    local m = sb.run(job({ "/mnt/hog", "mem", "20" }, { limits = { memory = "100M" } }))
    assert.are.equal("exited", m.status, m.message)
  end)

  it("give a device an io.weight, or say that iocost is off for it", function()
    local dev = blockdev()
    assert.truthy(dev)
    local qos = io.open(H.core.cgroup_mountpoint() .. "/io.cost.qos")
    local enabled = qos and qos:read("a"):find(dev .. " enable=1", 1, true)
    if qos then qos:close() end
    local h, msg = sb.spawn(job({ "/bin/sleep", "30" }, { limits = { io = { [dev] = { weight = 50 } } } }))
    if enabled then
      assert.truthy(h, msg)
      finally(function() h:close() end)
      assert.truthy(h:get("io.weight"):find(dev .. " 50", 1, true), h:get("io.weight"))
    else
      assert.is_nil(h)
      assert.truthy(msg:find('write io.weight="' .. dev .. ' 50"', 1, true), msg)
      assert.truthy(msg:find("io.cost.qos", 1, true), msg)
    end
  end)

  it("are enabled from the root when nobody did (no systemd, the root default parent)", function()
    -- the VM's state: no systemd; the test runner enabled them at the
    -- root, so take them back first (the default parent must go for that)
    assert.is_nil(io.open("/run/systemd/system"), "this spec needs a host without systemd")
    local mnt = H.core.cgroup_mountpoint()
    local function rootctl() return io.open(mnt .. "/cgroup.subtree_control"):read("a") end
    sb.settle()
    H.sh(("rmdir %s/sandboxlua 2>/dev/null; echo '-memory -pids' > %s/cgroup.subtree_control"):format(mnt, mnt))
    assert.is_nil(rootctl():find("memory", 1, true), rootctl())
    local r = sb.run(job({ "/mnt/hog", "mem", "200" }, { limits = { memory = "50M", swap = 0, pids = 16 } }))
    assert.are.equal("oom", r.status, r.message)
    assert.is_nil(r.skipped_controllers)
    assert.truthy(rootctl():find("memory", 1, true), rootctl())
    assert.truthy(rootctl():find("pids", 1, true), rootctl())
  end)

  it("that ended a job are named by the CLI in one line", function()
    local out, rc = H.sh(("%s run --rootfs %s --ro-bind %s/build/spec:/mnt --memory 50M --swap 0 -- /mnt/hog mem 200")
      :format(H.bin, H.busybox, H.root))
    assert.are.equal(137, rc, out)
    assert.truthy(out:find("\nsandboxlua: job killed: memory limit 50M reached %(peak %d[%d.]*[KM], %d+ OOM kills?%)\n$")
      or out:find("^sandboxlua: job killed: memory limit 50M reached %(peak %d[%d.]*[KM], %d+ OOM kills?%)\n$"), out)
  end)

  it("say oom when a shell's child was killed for memory and the shell exited", function()
    local r = sb.run(job({ "/bin/sh", "-c", "/mnt/hog mem 200; echo after $?; exit 3" },
                         { limits = { memory = "50M", swap = 0 }, stdio = { stdout = "capture" } }))
    assert.are.equal("oom", r.status)
    assert.are.equal(3, r.exit_code)
    assert.are.equal("after 137\n", r.stdout)
    assert.is_true(r.oom_kills >= 1)
  end)

  it("kill a 200M allocation under memory = 50M: status oom, exit 137", function()
    local r = sb.run(job({ "/mnt/hog", "mem", "200" }, { limits = { memory = "50M", swap = 0 } }))
    assert.are.equal("oom", r.status)
    assert.are.equal(137, r.exit_code)
    assert.are.equal("SIGKILL", r.signal)
    assert.is_true(r.oom_kills >= 1)
    assert.is_true(r.memory_peak >= 40 * 2^20 and r.memory_peak <= 52 * 2^20, tostring(r.memory_peak))
    -- the host is fine: the next jail runs
    assert.are.equal(0, sb.run(job({ "/bin/true" })).exit_code)
  end)

  it("count memory.high events when reads overflow memory_high", function()
    -- clean page cache is reclaimable: reading a disk past memory.high
    -- triggers reclaim (and events) without the stall anonymous memory
    -- without swap would get
    local dev, path = blockdev()
    assert.truthy(dev)
    local maj, min = dev:match("(%d+):(%d+)")
    local r = sb.run(job({ "/mnt/hog", "read", "/tmp/disk", "16" }, {
      devices = { { "b", tonumber(maj), tonumber(min), "r" } }, -- the allow-list names it
      limits = { memory = "200M", memory_high = "8M", swap = 0, wall = "120s" },
      mounts = { { "bind", H.root .. "/build/spec", "/mnt", ro = true }, { "tmpfs", "/tmp" },
                 { "bind", path, "/tmp/disk", ro = true, nodev = false } } }))
    assert.are.equal("exited", r.status, r.message)
    assert.truthy(r.stdout:find("^read %d+"), r.stdout)
    assert.is_true(r.memory_high_events > 0, tostring(r.memory_high_events))
    assert.are.equal(0, r.oom_kills)
  end)

  it("throttle a busy loop to about half a CPU with cpu = 0.5", function()
    local r = sb.run(job({ "/mnt/hog", "spin", "2" }, { limits = { cpu = 0.5 } }))
    assert.are.equal(0, r.exit_code)
    assert.is_true(r.throttled_s > 0, "throttled_s " .. tostring(r.throttled_s))
    assert.is_true(r.nr_throttled > 0)
    local share = r.cpu_s / r.wall_s
    assert.is_true(share > 0.3 and share < 0.7, ("cpu %.2fs over %.2fs wall"):format(r.cpu_s, r.wall_s))
  end)

  it("stop a fork loop at pids = 5 (EAGAIN inside, pids.events max outside)", function()
    local r = sb.run(job({ "/mnt/hog", "fork", "20" }, { limits = { pids = 5 } }))
    local ok, eagain = r.stdout:match("ok (%d+) eagain (%d+)")
    assert.truthy(ok, r.stdout .. r.stderr)
    -- init + hog = 2 of the 5
    assert.are.equal("3", ok)
    assert.are.equal("17", eagain)
    assert.is_true(r.pids_max_hits > 0)
  end)

  it("can change a limit of a running jail (set_limit)", function()
    local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = { memory = "100M" } })))
    finally(function() h:close() end)
    assert(h:set_limit("memory_high", "50M"))
    assert.are.equal(("%d"):format(50 * 2^20), h:get("memory.high"))
    assert(h:set_limit("pids", 7))
    assert.are.equal("7", h:get("pids.max"))
    local st = assert(h:stats())
    assert.is_true(st.memory_current > 0)
    assert.is_true(st.pids_current >= 2)
    assert.has_error(function() h:set_limit("memory_high", "lots") end)
    h:kill()
    h:wait()
  end)

  it("rejects bad values before anything is created", function()
    local parent = H.core.cgroup_parent()
    for field, bad in pairs { memory = "-1", cpu = 0, pids = 1.5, cpuset = "x" } do
      local ok, e = pcall(sb.run, job({ "/bin/true" }, { limits = { [field] = bad } }))
      assert.is_false(ok)
      assert.truthy(e.message:find("^recipe.limits." .. field .. ": expected"), e.message)
    end
    assert.are.equal(0, H.leaves(parent))
  end)

  it("work for a non-root user in a delegated subtree (no-internal-processes handled)", function()
    local mnt = H.core.cgroup_mountpoint()
    local top = ("%s/sbx-deleg-%d"):format(mnt, H.core.getpid())
    local user = top .. "/user"
    local f = os.tmpname()
    finally(function()
      os.remove(f)
      H.sh(("rmdir %s/supervisor %s %s 2>/dev/null"):format(user, user, top))
    end)
    -- what an admin (or systemd's Delegate=yes) does: a subtree the user owns
    local _, rc = H.sh(("mkdir %s && echo '+memory +pids' > %s/cgroup.subtree_control && mkdir %s && " ..
                        "chown 65534:65534 %s %s/cgroup.procs %s/cgroup.subtree_control %s/cgroup.threads")
                       :format(top, top, user, user, user, user, user))
    assert.are.equal(0, rc)
    local fh = io.open(f, "w")
    fh:write(([[return { rootfs = %q, command = { "/mnt/hog", "mem", "100" },
      mounts = { { "bind", %q, "/mnt", ro = true } }, limits = { memory = "32M", swap = 0, pids = 8 } }]])
      :format(H.busybox, H.root .. "/build/spec"))
    fh:close()
    os.execute("chmod 644 " .. f)
    -- the host process starts inside the delegated cgroup, as nobody
    local out, code = H.sh(("sh -c 'echo $$ > %s/cgroup.procs && exec setpriv --reuid=65534 --regid=65534 " ..
                            "--clear-groups env -u SANDBOXLUA_CGROUP %s --json - %s'"):format(user, H.bin, f))
    assert.are.equal(137, code, out)
    assert.truthy(out:find('"status": "oom"', 1, true), out)
    assert.truthy(out:find('"cgroup": "' .. user .. '/sbx-', 1, true), out)
    -- the host moved itself into a leaf so the subtree could take controllers
    local sub = io.open(user .. "/cgroup.subtree_control"):read("a")
    assert.truthy(sub:find("memory", 1, true) and sub:find("pids", 1, true), sub)
    local left = H.sh("ls -d " .. user .. "/*/ 2>/dev/null")
    assert.are.equal(user .. "/supervisor/\n", left)
  end)

  it("leave no leaf after an OOM kill", function()
    local r = sb.run(job({ "/mnt/hog", "mem", "100" }, { limits = { memory = "20M", swap = 0 } }))
    assert.are.equal("oom", r.status)
    assert.is_nil(io.open(r.cgroup .. "/cgroup.procs"))
    assert.are.equal(0, H.leaves())
  end)
end)
