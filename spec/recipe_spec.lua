-- The recipe layer, in pure Lua: strict units, validation with the field's
-- path, and the compiled plan.  Nothing here spawns.
local H = require "spec.support.helper"
local sb = H.sb
local units = require "cgsandbox.units"
local json = require "cgsandbox.json"

local err_of = H.recipe_error

describe("units", function()
  it("parses sizes strictly", function()
    assert.are.equal(50 * 2^20, units.size("50M"))
    assert.are.equal(math.floor(1.5 * 2^30), units.size("1.5G"))
    assert.are.equal(512 * 1024, units.size("512k"))
    assert.are.equal(100, units.size("100"))
    assert.are.equal(4096, units.size(4096))
    assert.are.equal(2^20, units.size("1MiB"))
    assert.are.equal("max", units.size("max", true))
    for _, bad in ipairs { "12Q", "-1", "1.5.5G", "", "M", "1 G", " 1G", "1e9", "max", -5, 1.5, 0/0, math.huge, {}, "0x10" } do
      assert.is_nil(units.size(bad), tostring(bad))
    end
  end)

  it("parses durations, CPUs and counts", function()
    assert.are.equal(30, units.duration("30s"))
    assert.are.equal(0.5, units.duration("500ms"))
    assert.are.equal(120, units.duration("2m"))
    assert.are.equal(3600, units.duration("1h"))
    assert.are.equal(2.5, units.duration(2.5))
    for _, bad in ipairs { "0s", "-1s", "10x", "s", 0, -3, "1.2.3s" } do
      assert.is_nil(units.duration(bad), tostring(bad))
    end
    assert.are.equal("50000 100000", units.cpu(0.5))
    assert.are.equal("200000 100000", units.cpu(2))
    assert.are.equal("max 100000", units.cpu("max"))
    for _, bad in ipairs { 0, -1, 0.001, "0.5", 0/0, 1e9 } do
      assert.is_nil(units.cpu(bad), tostring(bad))
    end
    assert.are.equal(5, units.count(5))
    assert.are.equal(5, units.count(5.0))
    assert.is_nil(units.count(1.5))
    assert.is_nil(units.count(0))
    assert.are.equal("0-3", units.cpulist("0-3"))
    assert.are.equal("0,2-3", units.cpulist("0,2-3"))
    assert.is_nil(units.cpulist("x"))
    assert.is_nil(units.cpulist("3-1"))
  end)

  it("survives random junk (fuzz)", function()
    math.randomseed(1234)
    local alphabet = "0123456789.kKmMgGtTpPiIbBsmhx-+ eE"
    for _ = 1, 20000 do
      local n = math.random(0, 8)
      local t = {}
      for i = 1, n do
        local k = math.random(#alphabet)
        t[i] = alphabet:sub(k, k)
      end
      local s = table.concat(t)
      for _, f in ipairs { units.size, units.duration, units.cpulist, units.mode } do
        local ok, v = pcall(f, s, true)
        assert.is_true(ok, s)
        if v ~= nil and f == units.size and v ~= "max" then
          assert.is_true(math.type(v) == "integer" and v >= 0, s)
        end
      end
    end
  end)
end)

describe("recipe validation", function()
  local base = { command = { "/bin/true" } }
  local function with(t)
    local r = {}
    for k, v in pairs(base) do r[k] = v end
    for k, v in pairs(t) do r[k] = v end
    return r
  end

  it("names the field and what was expected", function()
    assert.are.equal('recipe.mounts[2].target: expected an absolute path, got "tmp"',
      err_of(with { mounts = { { "tmpfs", "/tmp" }, { "tmpfs", "tmp" } } }))
    assert.are.equal('recipe.limits.memory: expected a size above 0 like 1048576, "50M", "1.5G" or "max", below 4 EiB, '
      .. 'got "12Q": "Q" is not a unit: ' .. units.SIZE_UNITS, err_of(with { limits = { memory = "12Q" } }))
    assert.truthy(err_of(with { colour = "red" }):find("^recipe.colour: unknown field %(known: "))
    assert.truthy(err_of(with { limits = { mem = 1 } }):find("^recipe.limits.mem: unknown field"))
    assert.are.equal("recipe.hostname: expected a host name (letters, digits, '-', '.'; up to 64), got 5",
      err_of(with { hostname = 5 }))
    assert.truthy(err_of({}):find("^recipe.command: expected a command"))
    assert.truthy(err_of(with { command = {} }):find("^recipe.command: expected a non%-empty list"))
    assert.truthy(err_of(with { env = { ["A B"] = "x" } }):find("^recipe.env: expected names"))
    assert.truthy(err_of(with { namespaces = { "pid", "bogus" } }):find("^recipe.namespaces%[2%]: expected one of"))
    assert.truthy(err_of(with { namespaces = { "pid" } }):find('"mount" is required'))
    assert.truthy(err_of(with { cwd = "tmp" }):find("^recipe.cwd: expected an absolute path"))
    assert.truthy(err_of(with { mounts = { { "bind", "/x", "/a/../b" } } }):find('without ".."'))
    assert.truthy(err_of(with { mounts = { { "nfs", "/x" } } }):find("^recipe.mounts%[1%].type: expected one of"))
    assert.truthy(err_of(with { mounts = { { "bind", "/x", "/y", ro = "yes" } } }):find("^recipe.mounts%[1%].ro: expected a boolean"))
    assert.truthy(err_of(with { stdio = { stdin = "capture" } }):find("^recipe.stdio.stdin"))
    assert.truthy(err_of(with { capabilities = { "net_bind_servic" } }):find("^recipe.capabilities%[1%]: expected a capability name"))
    assert.truthy(err_of(with { root_switch = "jump" }):find("^recipe.root_switch"))
    assert.truthy(err_of(with { on_exit = "print" }):find("^recipe.on_exit: expected a function"))
  end)

  it("rejects bad limit values before anything is created", function()
    for field, bad in pairs { memory = "-1", cpu = 0, pids = 1.5, cpuset = "x", memory_high = "lots",
                              swap = true, cpu_weight = 0, wall = "0s", cpu_time = "forever", output = "1X" } do
      local msg = err_of(with { limits = { [field] = bad } })
      assert.truthy(msg:find("^recipe.limits." .. field .. ": expected"), msg)
    end
    assert.truthy(err_of(with { limits = { cpu_weight = 10001 } }):find("1 to 10000"))
    assert.truthy(err_of(with { limits = { io = { sda = { rbps = "1M" } } } }):find('MAJOR:MINOR'))
    assert.truthy(err_of(with { limits = { io = { ["8:0"] = { rbps = "fast" } } } }):find('^recipe.limits.io%["8:0"%].rbps'))
    assert.truthy(err_of(with { limits = { rlimits = { nofiles = 3 } } }):find("^recipe.limits.rlimits.nofiles: unknown rlimit"))
    assert.truthy(err_of(with { limits = { rlimits = { nofile = { soft = 10, hard = 5 } } } }):find("soft limit exceeds"))
    assert.truthy(err_of(with { limits = { optional = { "memroy" } } }):find("^recipe.limits.optional%[1%]"))
    assert.truthy(err_of(with { cgroup = false, limits = { memory = "1M" } }):find("^recipe.cgroup"))
  end)

  it("compiles limits into cgroup file writes", function()
    local plan = sb.compile(with { limits = {
      memory = "50M", memory_high = "40M", memory_low = "1M", memory_min = "512K", swap = 0,
      oom_group = true, cpu = 0.5, cpu_weight = 200, cpuset = { cpus = "0", mems = "0" }, pids = 5,
      io = { ["8:0"] = { rbps = "10M", wiops = 100, weight = 50 } },
      wall = "30s", cpu_time = "2s", output = "1M", optional = { "io" },
    } })
    local w = {}
    for _, x in ipairs(plan.cgroup.writes) do w[x[1]] = x[2] .. (x.optional and " (optional)" or "") end
    assert.are.same({
      ["memory.max"] = "52428800", ["memory.high"] = "41943040", ["memory.low"] = "1048576",
      ["memory.min"] = "524288", ["memory.swap.max"] = "0", ["memory.oom.group"] = "1",
      ["cpu.max"] = "50000 100000", ["cpu.weight"] = "200", ["cpuset.cpus"] = "0", ["cpuset.mems"] = "0",
      ["pids.max"] = "5", ["io.max"] = "8:0 rbps=10485760 wiops=100 (optional)",
      ["io.weight"] = "8:0 50 (optional)",
    }, w)
    assert.are.equal(30000, plan.wall_ms)
    assert.are.equal(2000000, plan.cpu_time_us)
    assert.are.equal(2^20, plan.output_limit)
  end)

  it("compiles defaults: namespaces, env, mounts, masks", function()
    local plan = sb.compile(base)
    assert.are.same({ "pid", "mount", "uts", "ipc", "net", "cgroup" }, plan.namespaces)
    assert.are.same({ "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, plan.env)
    local kinds = {}
    for _, m in ipairs(plan.mounts) do kinds[#kinds + 1] = m.kind .. ":" .. m.dst end
    -- over the host root, the places of sockets, homes and scratch data
    -- are private (the absent ones stay absent: optional)
    assert.are.same({ "proc:/proc", "dev:/dev", "sysfs:/sys", "tmpfs:/tmp", "tmpfs:/run", "tmpfs:/var/tmp",
                      "tmpfs:/home", "tmpfs:/root", "tmpfs:/srv", "tmpfs:/mnt", "tmpfs:/media" }, kinds)
    assert.are.equal(65534, plan.uid) -- nobody, over the host root
    assert.are.equal(65534, plan.gid)
    assert.are.equal(15, #plan.devices) -- the minimal /dev and the console's (ptmx, 8 pts majors)
    assert.are.equal("pivot", plan.root_switch)
    assert.is_true(plan.root_readonly)
    assert.is_true(plan.no_new_privs)
    assert.are.same({}, plan.caps)
    assert.truthy(plan.seccomp)
    local masked = table.concat(plan.masked, " ")
    for _, p in ipairs { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/proc/scsi" } do
      assert.truthy(masked:find(p, 1, true), p)
    end
  end)

  it("turns network = host into no net namespace", function()
    local plan = sb.compile(with { network = "host" })
    assert.are.same({ "pid", "mount", "uts", "ipc", "cgroup" }, plan.namespaces)
  end)

  it("takes a shell string as a command", function()
    assert.are.same({ "/bin/sh", "-c", "echo hi" }, sb.compile(with { command = "echo hi" }).argv)
  end)

  it("survives hostile recipes without crashing", function()
    math.randomseed(42)
    local vals = { 1, -1, 0, 1.5, "x", "/", "", "/tmp", "50M", true, false, {}, { 1, 2 }, { "tmpfs" },
                   function() end, math.huge, 0/0, ("a"):rep(5000), "\0", { "bind", "/", "/" } }
    local fields = { "command", "rootfs", "env", "cwd", "hostname", "user", "namespaces", "network",
                     "limits", "mounts", "capabilities", "seccomp", "umask", "stdio", "cgroup", "sys" }
    for _ = 1, 3000 do
      local r = { command = { "/bin/true" } }
      for _ = 1, math.random(1, 4) do
        r[fields[math.random(#fields)]] = vals[math.random(#vals)]
      end
      local ok, e = pcall(sb.compile, r)
      if not ok then
        assert.are.equal(sb.RecipeError, getmetatable(e), tostring(e))
        assert.truthy(e.message:find("^recipe%."), e.message)
      end
    end
  end)
end)

describe("json", function()
  it("encodes results with sorted keys and escapes bytes", function()
    assert.are.equal('{"a":1,"b":[true,false,"x"],"c":{}}', json.encode { b = { true, false, "x" }, a = 1, c = {} })
    assert.are.equal('{"1":true,"3":"x"}', json.encode { true, nil, "x" }) -- a sparse table is an object
    assert.are.equal('"\\u0000\\n\\"\\\\\\u00ff\\u0007"', json.encode("\0\n\"\\\255\7"))
    assert.are.equal('"h\xc3\xa9"', json.encode("h\xc3\xa9"))
    assert.are.equal("0.5", json.encode(0.5))
    assert.are.equal("[1,2,3]", json.encode { 1, 2, 3 })
  end)
end)

describe("the binding", function()
  it("raises on hostile plans handed straight to core.spawn, and never crashes", function()
    local core = H.core
    math.randomseed(7)
    local vals = { 1, -1, "x", "", "/", true, {}, { 1 }, { "a", 2 }, { {} }, { { 1, 2 } }, { kind = "bogus" },
                   function() end, ("z"):rep(300) }
    local fields = { "argv", "env", "cwd", "hostname", "rootfs", "namespaces", "mounts", "masked", "readonly",
                     "cgroup", "caps", "seccomp", "rlimits", "stdio", "uid", "gid", "groups", "umask",
                     "wall_ms", "output_limit", "uid_map", "tty" }
    local before = H.leaves()
    for _ = 1, 400 do
      local plan = { argv = { "/nonexistent-cmd" }, rootfs = "/nonexistent-root" }
      for _ = 1, math.random(1, 3) do
        plan[fields[math.random(#fields)]] = vals[math.random(#vals)]
      end
      local ok, jail = pcall(core.spawn, plan)
      if ok and jail then jail:close() end
    end
    assert.are.equal(before, H.leaves())
    assert.has_error(function() core.spawn("not a table") end)
    assert.has_error(function() core.spawn { argv = {} } end, "plan.argv: expected a non-empty list")
  end)
end)

describe("cpu limits", function()
  local function writes(l)
    local out = {}
    for _, w in ipairs(sb.compile({ command = { "/bin/true" }, limits = l }).cgroup.writes) do out[w[1]] = w[2] end
    return out
  end
  it("take a period for cpu.max and convert Docker's cpu.shares to cpu.weight", function()
    assert.are.equal("25000 50000", writes({ cpu = 0.5, cpu_period = "50ms" })["cpu.max"])
    assert.are.equal("50000 100000", writes({ cpu = 0.5 })["cpu.max"])
    assert.are.equal("max 20000", writes({ cpu = "max", cpu_period = "20ms" })["cpu.max"])
    for shares, weight in pairs { [2] = "1", [512] = "59", [1024] = "100", [2048] = "174", [262144] = "10000" } do
      assert.are.equal(weight, writes({ cpu_shares = shares })["cpu.weight"], shares)
    end
  end)
  it("refuse what the kernel would, naming the field", function()
    assert.truthy(err_of({ command = { "/bin/true" }, limits = { cpu_period = "50ms" } })
      :find("^recipe.limits.cpu_period: goes with cpu"))
    assert.truthy(err_of({ command = { "/bin/true" }, limits = { cpu = 1, cpu_period = "2s" } })
      :find('^recipe.limits.cpu_period: expected a period from 1ms to 1s'))
    assert.truthy(err_of({ command = { "/bin/true" }, limits = { cpu = 0.01, cpu_period = "10ms" } })
      :find("at least 0.1 with a period of 10000 us", 1, true))
    assert.truthy(err_of({ command = { "/bin/true" }, limits = { cpu_shares = 1 } })
      :find("^recipe.limits.cpu_shares: expected cpu.shares from 2 to 262144"))
    assert.truthy(err_of({ command = { "/bin/true" }, limits = { cpu_shares = 512, cpu_weight = 10 } })
      :find("^recipe.limits.cpu_shares: give cpu_shares or cpu_weight, not both"))
  end)
end)
