-- The recipe side of the cgroup v2 fields: what compiles to which write,
-- and every misuse refused with the field named, before anything exists.
local H = require "spec.support.helper"
local sb = H.sb

local function writes(limits)
  local plan = sb.compile { command = { "/bin/true" }, limits = limits }
  local w = {}
  for _, x in ipairs(plan.cgroup.writes) do w[#w + 1] = x[1] .. "=" .. x[2] end
  return w
end

local function err(r)
  r.command = r.command or { "/bin/true" }
  return H.recipe_error(r)
end

describe("cgroup limits in recipes", function()
  it("compile hugetlb, rdma, misc and unified limits to their files", function()
    assert.are.same({ "hugetlb.1GB.max=0", "hugetlb.2MB.max=67108864" },
                    writes { hugetlb = { ["2MB"] = "64M", ["1GB"] = 0 } })
    assert.are.same({ "rdma.max=mlx5_0 hca_handle=2 hca_object=max" },
                    writes { rdma = { mlx5_0 = { hca_handle = 2, hca_object = "max" } } })
    assert.are.same({ "misc.max=sev 16" }, writes { misc = { sev = 16 } })
    assert.are.same({ "cgroup.max.depth=3", "memory.high=1G" },
                    writes { unified = { ["memory.high"] = "1G", ["cgroup.max.depth"] = 3 } })
    assert.are.same({ "io.weight=default 200" }, writes { io = { weight = 200 } })
  end)

  it("refuse bad keys and values, naming the field", function()
    assert.truthy(err { limits = { hugetlb = { ["2M"] = "4M" } } }
      :find('^recipe.limits.hugetlb%["2M"%]: expected a huge page size as the kernel names it'))
    assert.truthy(err { limits = { rdma = { mlx5_0 = {} } } }
      :find('recipe.limits.rdma["mlx5_0"]: give hca_handle and/or hca_object', 1, true))
    assert.truthy(err { limits = { misc = { ["Sev"] = 1 } } }:find("^recipe.limits.misc%[\"Sev\"%]: expected a misc resource"))
    for _, f in ipairs { "cgroup.procs", "cgroup.subtree_control", "cgroup.kill", "../memory.max", "memory" } do
      assert.truthy(err { limits = { unified = { [f] = "1" } } }:find("^recipe.limits.unified%["), f)
    end
    assert.truthy(err { limits = { memory = "1G", unified = { ["memory.max"] = "2G" } } }
      :find('recipe.limits.unified["memory.max"]: memory.max is also set by another limit: say it once', 1, true))
    assert.truthy(err { limits = { unified = { ["memory.high"] = "1G\n2G" } } }:find("one line of up to 4096 bytes", 1, true))
    assert.truthy(err { limits = { io = { weight = 0 } } }:find("^recipe.limits.io.weight: expected an integer"))
  end)

  it("take an io device by path: a block device, stat'ed here", function()
    local e = err { limits = { io = { ["/dev/null"] = { wbps = "1M" } } } }
    assert.truthy(e:find('recipe.limits.io["/dev/null"]: /dev/null: not a block device', 1, true), e)
    e = err { limits = { io = { ["/nonexistent/disk"] = { wbps = "1M" } } } }
    assert.truthy(e:find("No such file or directory", 1, true), e)
    assert.truthy(err { limits = { io = { disk0 = { wbps = "1M" } } } }
      :find('expected a block device path ("/dev/vda") or "MAJOR:MINOR"', 1, true))
    -- a real block device of this machine, when it has one
    local id, path = H.blockdev()
    if id then
      assert.are.same({ "io.max=" .. id .. " wbps=1048576" }, writes { io = { [path] = { wbps = "1M" } } })
    end
  end)
end)

describe("cgroup placement in recipes", function()
  it("compile path, create and delegate", function()
    local p = sb.compile { command = { "/bin/true" }, cgroup = { path = "/sys/fs/cgroup/foo.slice", leaf = false } }
    assert.are.equal("/sys/fs/cgroup/foo.slice", p.cgroup.path)
    assert.is_nil(p.cgroup.parent)
    p = sb.compile { command = { "/bin/true" }, cgroup = { parent = "/sys/fs/cgroup/a/b", create = true } }
    assert.are.equal("/sys/fs/cgroup/a/b", p.cgroup.parent)
    assert.is_true(p.cgroup.create)
    p = sb.compile { command = { "/bin/true" }, cgroup = { delegate = { "memory", "pids" }, delegate_max = 8 } }
    assert.is_true(p.cgroup.delegate)
    assert.are.same({ "memory", "pids" }, p.cgroup.delegate_controllers)
    assert.are.equal(8, p.cgroup.delegate_max)
    -- the jail's cgroup, writable, right after its /sys; not masked
    local at
    for i, m in ipairs(p.mounts) do if m.kind == "cgroup" then at = i end end
    assert.truthy(at)
    assert.are.same({ kind = "cgroup", dst = "/sys/fs/cgroup", ro = false }, p.mounts[at])
    assert.are.equal("sysfs", p.mounts[at - 1].kind)
    for _, m in ipairs(p.masked) do assert.are_not.equal("/sys/fs/cgroup", m) end
    -- without delegation the cgroupfs stays masked
    p = sb.compile { command = { "/bin/true" } }
    local masked = false
    for _, m in ipairs(p.masked) do masked = masked or m == "/sys/fs/cgroup" end
    assert.is_true(masked)
  end)

  it("refuse what cannot work, before anything exists", function()
    local cases = {
      { { path = "/sys/fs/cgroup/x", parent = "/sys/fs/cgroup" }, "give parent (a leaf of ours below it) or path" },
      { { path = "/sys/fs/cgroup/x", leaf = true }, "recipe.cgroup.leaf: a path is joined as it is" },
      { { leaf = false }, "recipe.cgroup.leaf: leaf = false needs path" },
      { { delegate_max = 3 }, "recipe.cgroup.delegate_max: goes with delegate = true" },
      { { delegate = { "memroy" } }, 'recipe.cgroup.delegate[1]: expected a controller' },
    }
    for _, c in ipairs(cases) do
      local ok, e = pcall(sb.compile, { command = { "/bin/true" }, cgroup = c[1] })
      if c[2] then
        assert.is_false(ok)
        assert.truthy(e.message:find(c[2], 1, true), e.message)
      end
    end
    assert.truthy(err { cgroup = { delegate = true }, namespaces = { "pid", "mount" } }
      :find("recipe.cgroup.delegate: needs the jail's own cgroup namespace", 1, true))
    assert.truthy(err { cgroup = { delegate = true }, sys = false }:find("keep sys", 1, true))
    assert.truthy(err { mounts = { { "cgroup", "/sys/fs/cgroup" } }, namespaces = { "pid", "mount" } }
      :find("a cgroup mount needs the jail's own cgroup namespace", 1, true))
    assert.truthy(err { mounts = { { "cgroup", "/sys/fs/cgroup", ro = false } } }
      :find("a writable cgroup is cgroup = { delegate = true }", 1, true))
  end)

  it("refuse a .. in an exact cgroup path when the jail is spawned, leaving nothing", function()
    local r = sb.run { command = { "/bin/true" }, cgroup = { path = "sbx-x/../../etc" } }
    assert.are.equal("setup_error", r.status)
    assert.are.equal("EINVAL", r.errno)
    assert.truthy(r.message:find('".." is not allowed', 1, true), r.message)
  end)
end)

describe("timelines in recipes", function()
  it("take sample as an interval or { every, points }", function()
    local p = sb.compile { command = { "/bin/true" }, sample = "100ms" }
    assert.are.equal(100, p.sample_ms)
    p = sb.compile { command = { "/bin/true" }, sample = { every = "1s", points = 50 } }
    assert.are.equal(1000, p.sample_ms)
    assert.are.equal(50, p.sample_max)
    p = sb.compile({ command = { "/bin/true" } }, { sample = "20ms" })
    assert.are.equal(20, p.sample_ms)
    assert.is_nil(sb.compile { command = { "/bin/true" } }.sample_ms)
  end)

  it("refuse intervals out of range and an on_sample without sample", function()
    assert.truthy(err { sample = "1ms" }:find('^recipe.sample: expected an interval from 10ms to 1h'))
    assert.truthy(err { sample = { every = "1s", points = 2 } }:find("^recipe.sample.points: expected a count from 4 to 100000"))
    assert.truthy(err { sample = { points = 10 } }:find("^recipe.sample.every: how often"))
    assert.truthy(err { on_sample = function() end }:find("^recipe.on_sample: goes with sample"))
  end)

  it("give a timeline on any host: the points follow the clock", function()
    local r = sb.run(H.bb("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done", { sample = "20ms" }))
    assert.are.equal("exited", r.status, r.message)
    local tl = assert(r.timeline)
    assert.is_true(#tl.t >= 2, #tl.t .. " points")
    for i = 2, #tl.t do assert.is_true(tl.t[i] > tl.t[i - 1]) end
    assert.is_true(tl.t[#tl.t] <= r.wall_s)
    assert.are.equal(#tl.t, #tl.cpu)
    assert.is_true(r.started_at > 1.7e9 and r.ended_at >= r.started_at)
  end)
end)

describe("set_limit", function()
  it("checks a value as a recipe does, and refuses the supervisor's limits", function()
    local h = assert(sb.spawn(H.bb("sleep 5", { cgroup = false, stdio = { stdout = "null", stderr = "null" } })))
    finally(function() h:close() end)
    assert.has_error(function() h:set_limit("cpu_time", "1s") end,
                     "set_limit.cpu_time: not a cgroup limit: it is set when the jail starts")
    assert.has_error(function() h:set_limit("bogus", 1) end)
    assert.has_error(function() h:set_limit(42) end, "set_limit: expected a limit name or a table of limits")
    assert.has_error(function() h:set_limit { cpu_period = "50ms" } end)
  end)
end)
