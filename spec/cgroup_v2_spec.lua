-- cgroup v2, the rest of what the kernel offers: io by device path and
-- io.stat, hugetlb/rdma/misc/unified limits, set_limit for every limit,
-- placement (a parent made down the chain, an exact cgroup joined),
-- delegation into the jail, live stats and watches, timelines, swap.
-- Everything is checked in the kernel's own files.  Runs in the test VM.
local H = require "spec.support.helper"
local sb = H.sb
local job = H.job

local function mnt() return H.core.cgroup_mountpoint() end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return (s:gsub("\n$", ""))
end

local write = H.write

local blockdev = H.blockdev

-- a fresh empty cgroup of this spec's own, below the mount
local function fresh(name)
  local p = ("%s/%s-%d"):format(mnt(), name, H.core.getpid())
  H.sh("rmdir " .. p .. " 2>/dev/null")
  assert(os.execute("mkdir " .. p))
  return p
end

describe("io limits and results #cgroup", function()
  it("take a block device by its path and a default io.weight", function()
    local id, path = blockdev()
    assert.truthy(id, "the test VM has a scratch disk")
    local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = { io = {
      [path] = { wbps = "1M", riops = 50 }, weight = 200 } } })))
    finally(function() h:close() end)
    -- io.max holds the device's MAJ:MIN, as stat(2) gave it
    assert.truthy(h:get("io.max"):find(id .. " rbps=max wbps=1048576 riops=50 wiops=max", 1, true), h:get("io.max"))
    assert.truthy(h:get("io.weight"):find("default 200", 1, true), h:get("io.weight"))
  end)

  it("report io.stat per device in the result, named as the kernel names it", function()
    local id, path = blockdev()
    local maj, min = id:match("(%d+):(%d+)")
    local r = sb.run(H.bb(("dd if=%s of=/dev/null bs=4096 count=512 skip=1024 2>/dev/null; echo done"):format(path), {
      devices = { { "b", tonumber(maj), tonumber(min), "r", path = path } } }))
    assert.are.equal("exited", r.status, r.message or r.stderr)
    assert.are.equal("done\n", r.stdout)
    local dev
    for _, d in ipairs(r.io or {}) do if d.device == id then dev = d end end
    assert.truthy(dev, "no io.stat line for " .. id)
    assert.are.equal(path:sub(6), dev.name)
    assert.is_true(dev.rbytes >= 512 * 4096, tostring(dev.rbytes))
    assert.is_true(dev.rios > 0)
    assert.is_true(r.io_rbytes >= dev.rbytes)
  end)
end)

describe("hugetlb, rdma, misc and unified limits #cgroup", function()
  it("write hugetlb.<size>.max and raw unified files, read back through the kernel", function()
    local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = {
      hugetlb = { ["2MB"] = "4M" }, unified = { ["memory.high"] = "30M", ["pids.max"] = 9 } } })))
    finally(function() h:close() end)
    assert.are.equal("4194304", h:get("hugetlb.2MB.max"))
    assert.are.equal(("%d"):format(30 * 2^20), h:get("memory.high"))
    assert.are.equal("9", h:get("pids.max"))
  end)

  it("reach the kernel for rdma.max and misc.max, whose refusal names the file", function()
    local cap = read(mnt() .. "/misc.capacity") or ""
    local res, n = cap:match("(%S+) (%d+)")
    if res and tonumber(n) > 0 then
      local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = { misc = { [res] = 1 } } })))
      finally(function() h:close() end)
      assert.truthy(h:get("misc.max"):find(res .. " 1", 1, true))
    else
      -- no misc resource on this machine: the kernel says no, and we say where
      local r = sb.run(job({ "/bin/true" }, { limits = { misc = { sev = 1 } } }))
      assert.are.equal("setup_error", r.status)
      assert.truthy(r.message:find('write misc.max="sev 1"', 1, true), r.message)
    end
    local r = sb.run(job({ "/bin/true" }, { limits = { rdma = { mlx5_0 = { hca_handle = 2 } } } }))
    if r.status == "setup_error" then -- no such RDMA device here
      assert.truthy(r.message:find('write rdma.max="mlx5_0 hca_handle=2"', 1, true), r.message)
    else
      assert.are.equal("exited", r.status)
    end
  end)
end)

describe("set_limit #cgroup", function()
  it("sets any recipe limit live, enabling its controller in the parent first", function()
    local id, path = blockdev()
    local parent = fresh("sbx-live")
    -- no limits at spawn: the parent enables nothing for the leaf
    local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { cgroup = { parent = parent } })))
    finally(function() h:close(); sb.settle(); H.sh("rmdir " .. parent) end)
    -- (only the statistics' controllers, best effort: not cpuset, not hugetlb)
    local before = read(parent .. "/cgroup.subtree_control")
    assert.is_nil(before:find("cpuset", 1, true), before)
    assert.is_nil(before:find("hugetlb", 1, true), before)
    assert(h:set_limit("hugetlb", { ["2MB"] = "2M" }))
    assert.are.equal("2097152", h:get("hugetlb.2MB.max"))
    assert(h:set_limit("memory", "64M"))
    assert.are.equal("67108864", h:get("memory.max"))
    assert(h:set_limit { cpu = 0.5, cpu_period = "50ms" })
    assert.are.equal("25000 50000", h:get("cpu.max"))
    assert(h:set_limit("io", { [path] = { wbps = "2M" } }))
    assert.truthy(h:get("io.max"):find(id .. " rbps=max wbps=2097152", 1, true), h:get("io.max"))
    assert(h:set_limit("cpuset", "0"))
    assert.are.equal("0", h:get("cpuset.cpus"))
    assert(h:set_limit("oom_group", true))
    assert.are.equal("1", h:get("memory.oom.group"))
    assert(h:set_limit("pids", 12))
    assert.are.equal("12", h:get("pids.max"))
    local ctl = read(parent .. "/cgroup.subtree_control")
    for _, c in ipairs { "cpuset", "cpu", "io", "memory", "hugetlb", "pids" } do
      assert.truthy((" " .. ctl .. " "):find(" " .. c .. " ", 1, true), ctl)
    end
    assert.has_error(function() h:set_limit("wall", "1s") end, "set_limit.wall: not a cgroup limit: it is set when the jail starts")
  end)
end)

describe("placement #cgroup", function()
  it("makes a parent two levels deep with the controllers enabled down the chain, and removes it", function()
    local top = ("%s/ci-%d.slice"):format(mnt(), H.core.getpid())
    local out = os.tmpname()
    local f = H.recipe_file(([[
      return { rootfs = %q, command = { "/bin/true" },
               limits = { memory = "64M", pids = 16 },
               cgroup = { parent = %q, create = true },
               on_start = function(h)
                 local o = io.open(%q, "w")
                 for _, d in ipairs { %q, %q } do
                   local s = io.open(d .. "/cgroup.subtree_control"):read("a")
                   o:write(d, ": ", s)
                 end
                 o:write("leaf: ", h:cgroup(), "\n")
                 o:close()
               end }
    ]]):format(H.busybox, top .. "/runner-3", out, top, top .. "/runner-3"))
    finally(function() os.remove(f); os.remove(out); H.sh("rmdir " .. top .. "/runner-3 " .. top .. " 2>/dev/null") end)
    local o, rc = H.sh(H.bin .. " -q " .. f)
    assert.are.equal(0, rc, o)
    local seen = read(out)
    for _, d in ipairs { top, top .. "/runner-3" } do
      local line = seen:match(d:gsub("%p", "%%%0") .. ": ([^\n]*)")
      assert.truthy(line, seen)
      assert.truthy(line:find("memory", 1, true) and line:find("pids", 1, true), line)
    end
    assert.truthy(seen:find("leaf: " .. top .. "/runner-3/sbx-", 1, true), seen)
    -- made for the host, gone with it
    assert.is_nil(io.open(top .. "/cgroup.procs"))
  end)

  it("joins an exact existing cgroup, writes its limits there, and leaves it", function()
    local foo = fresh("foo.slice")
    finally(function() H.sh("rmdir " .. foo) end)
    local rel = foo:sub(#mnt() + 1)
    local r = sb.run(job({ "/mnt/hog", "cgroup" }, { namespaces = { "pid", "mount", "uts", "ipc", "net" },
      cgroup = { path = foo, leaf = false }, limits = { pids = 8 } }))
    assert.are.equal(0, r.exit_code, r.message)
    assert.are.equal("0::" .. rel, r.stdout:match("0::[^\n]*"))
    assert.are.equal(foo, r.cgroup)
    assert.are.equal("8", read(foo .. "/pids.max"))
    assert.are.equal("", read(foo .. "/cgroup.procs"))
    -- a path that does not exist is made, and removed after
    local new = foo .. "-new"
    local r2 = sb.run(job({ "/bin/true" }, { cgroup = { path = new } }))
    assert.are.equal("exited", r2.status, r2.message)
    sb.settle()
    assert.is_nil(io.open(new .. "/cgroup.procs"))
  end)

  it("refuses an exact cgroup that already has processes, or whose child has", function()
    local foo = fresh("busy.slice")
    assert(os.execute("mkdir " .. foo .. "/child"))
    local sleeper = H.sh("sleep 30 >/dev/null 2>&1 & echo $!"):match("%d+")
    finally(function()
      H.sh("kill -9 " .. sleeper)
      H.sh("sleep 0.2; rmdir " .. foo .. "/child " .. foo)
    end)
    write(foo .. "/child/cgroup.procs", sleeper)
    local r = sb.run(job({ "/bin/true" }, { cgroup = { path = foo } }))
    assert.are.equal("setup_error", r.status)
    assert.are.equal("EBUSY", r.errno)
    assert.truthy(r.message:find("already has processes", 1, true), r.message)
    assert.are.equal(sleeper, read(foo .. "/child/cgroup.procs"))
  end)
end)

describe("delegation #cgroup", function()
  it("gives the jail its cgroup: it makes /sys/fs/cgroup/child and limits it, but not itself", function()
    local parent = H.core.cgroup_parent()
    local h = assert(sb.spawn(H.bb(table.concat({
      "cat /proc/self/cgroup",
      "echo ctl: $(cat /sys/fs/cgroup/cgroup.subtree_control)",
      "mkdir /sys/fs/cgroup/child && echo 20M > /sys/fs/cgroup/child/memory.max && echo child: $(cat /sys/fs/cgroup/child/memory.max)",
      "echo 1G > /sys/fs/cgroup/memory.max 2>/dev/null; echo own: $?",
      "mkdir /sys/fs/cgroup/done",
      "exec sleep 30",
    }, "; "), { limits = { memory = "100M", pids = 32 }, cgroup = { delegate = true } })))
    finally(function() h:close() end)
    -- from outside, through the kernel: the child is below the leaf, limited
    local leaf = h:cgroup()
    local deadline = H.core.now() + 10
    while not io.open(leaf .. "/done/cgroup.procs") and H.core.now() < deadline do sb.pump(50) end
    assert.are.equal("20971520", read(leaf .. "/child/memory.max"))
    assert.are.equal("104857600", read(leaf .. "/memory.max"))
    h:kill("TERM")
    local r = h:wait()
    assert.truthy(r.stdout:find("0::/init\n", 1, true), r.stdout)
    local ctl = r.stdout:match("ctl: ([^\n]*)")
    assert.truthy(ctl and ctl:find("memory", 1, true) and ctl:find("pids", 1, true), r.stdout)
    assert.truthy(r.stdout:find("child: 20971520", 1, true), r.stdout .. r.stderr)
    assert.truthy(r.stdout:find("own: 1", 1, true), r.stdout) -- nsdelegate: the leaf's own limit is not the jail's
    assert.are.equal(0, H.leaves(parent))
  end)
end)

describe("live stats, watches and timelines #cgroup", function()
  it("h:stats() has the result's cgroup fields, PSI included", function()
    local h = assert(sb.spawn(job({ "/mnt/hog", "steps", "0.6", "8" }, { limits = { memory = "64M", cpu = 1 } })))
    local deadline = H.core.now() + 0.3
    while H.core.now() < deadline do sb.pump(50) end
    local st = assert(h:stats())
    local r = h:wait()
    h:close()
    for _, k in ipairs { "memory_current", "memory_peak", "memory_max", "cpu_max", "cpu_s", "pids_current",
                         "nr_periods", "pressure", "memory_stat", "oom_events" } do
      assert.is_not_nil(st[k], "stats lacks " .. k)
      assert.is_not_nil(r[k], "result lacks " .. k)
    end
    assert.is_number(st.pressure.cpu.some.total_s)
    assert.are.equal(67108864, st.memory_max)
    assert.are.equal(1, st.cpu_max)
  end)

  it("h:watch calls back with samples while the jail runs", function()
    local h = assert(sb.spawn(job({ "/mnt/hog", "steps", "0.2", "4", "8", "16" })))
    local seen = {}
    assert(h:watch("50ms", function(hh, st)
      assert.are.equal(h, hh)
      seen[#seen + 1] = st.memory_current
    end))
    local r = h:wait()
    h:close()
    assert.are.equal("exited", r.status)
    assert.is_true(#seen >= 5, #seen .. " samples")
    assert.is_true(math.max(table.unpack(seen)) >= 16 * 2^20, tostring(math.max(table.unpack(seen))))
    assert.is_nil(r.hook_errors)
  end)

  it("timeline: a stepping allocation gives a rising memory series whose top is memory_peak", function()
    local r = sb.run(job({ "/mnt/hog", "steps", "0.4", "10", "20", "40" }, { sample = "50ms" }))
    assert.are.equal("exited", r.status, r.message)
    local tl = assert(r.timeline, "no timeline")
    assert.are.equal(#tl.t, #tl.memory)
    assert.are.equal(#tl.t, #tl.cpu)
    assert.is_true(#tl.t >= 15, #tl.t .. " points")
    -- the series rises in steps: the first third below 15M, the last above 35M
    local n = #tl.memory
    assert.is_true(tl.memory[2] < 15 * 2^20, tostring(tl.memory[2]))
    local top = math.max(table.unpack(tl.memory))
    assert.is_true(top >= 40 * 2^20 and top <= r.memory_peak, ("%d vs peak %d"):format(top, r.memory_peak))
    assert.is_true(tl.memory[n - 1] > 35 * 2^20, tostring(tl.memory[n - 1]))
    for i = 2, n do assert.is_true(tl.t[i] > tl.t[i - 1]) end
    assert.is_true(r.ended_at > r.started_at)
  end)

  it("timeline: a busy loop under cpu = 0.5 shows about half a CPU", function()
    local r = sb.run(job({ "/mnt/hog", "spin", "1.5" }, { sample = "100ms", limits = { cpu = 0.5, cpu_period = "20ms" } }))
    assert.are.equal("exited", r.status, r.message)
    local c = {}
    for i = 3, #r.timeline.cpu - 1 do c[#c + 1] = r.timeline.cpu[i] end
    table.sort(c)
    local median = c[(#c + 1) // 2]
    assert.is_true(median > 0.35 and median < 0.65, "median " .. tostring(median))
    local psi = math.max(table.unpack(r.timeline.psi_cpu))
    assert.is_true(psi > 0.1, "psi_cpu " .. psi)
  end)

  it("timeline: a long job keeps a bounded number of points", function()
    local r = sb.run(job({ "/mnt/hog", "spin", "1" }, { sample = { every = "10ms", points = 16 } }))
    assert.is_true(#r.timeline.t <= 16, #r.timeline.t .. " points")
    assert.is_true(#r.timeline.t >= 6)
    assert.is_true(r.timeline.interval >= 0.04, tostring(r.timeline.interval))
  end)
end)

describe("swap #cgroup", function()
  it("shows swap use live and its peak at exit, on the VM's swap disk", function()
    local _, path = blockdev()
    local out, rc = H.sh(("mkswap %s >/dev/null && swapon %s"):format(path, path))
    assert.are.equal(0, rc, out)
    finally(function() H.sh("swapoff " .. path) end)
    local h = assert(sb.spawn(job({ "/mnt/hog", "steps", "1.5", "32" }, { limits = { memory = "24M", swap = "max" } })))
    local deadline, st = H.core.now() + 20, nil
    repeat
      sb.pump(100)
      st = h:stats()
    until not st or (st.memory_swap_current or 0) > 4 * 2^20 or H.core.now() > deadline
    assert.truthy(st, "the job ended before swapping")
    assert.is_true(st.memory_swap_current > 4 * 2^20, tostring(st.memory_swap_current))
    local r = h:wait()
    h:close()
    assert.are.equal("exited", r.status, r.message)
    -- memory.swap.peak came with Linux 6.5: where the kernel has it, it is in the result
    if io.open(H.core.cgroup_parent() .. "/memory.swap.peak") then
      assert.is_true(r.memory_swap_peak > 4 * 2^20, tostring(r.memory_swap_peak))
    else
      assert.is_nil(r.memory_swap_peak)
    end
  end)
end)
