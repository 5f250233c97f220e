-- The size rule (README "Sizes"), one for every size a recipe holds: an
-- integer or digits (with or without "B") are bytes; a number with K, M,
-- G, T, P (or k, m, g, t, p, or KiB ... PiB) is binary; "MB", "Gb", "mb"
-- and the like are errors that say what is accepted.  Limits of 0 that
-- would leave a jail nothing (memory, memory_high, io rates, pids below 2,
-- a tmpfs of size 0, which the kernel reads as unlimited) are errors too.
local H = require "spec.support.helper"
local sb = H.sb
local units = require "cgsandbox.units"

local function err_of(r) -- a recipe with a command: the size is what fails
  r.command = r.command or { "/bin/true" }
  return H.recipe_error(r)
end

describe("the size rule", function()
  it("reads bytes, binary units in either case and the IEC names alike", function()
    for s, n in pairs {
      ["4096"] = 4096, ["4096B"] = 4096, ["0"] = 0, ["1K"] = 1024, ["1k"] = 1024, ["1KiB"] = 1024,
      ["50M"] = 50 * 2^20, ["50m"] = 50 * 2^20, ["50MiB"] = 50 * 2^20,
      ["2G"] = 2 * 2^30, ["2g"] = 2 * 2^30, ["2GiB"] = 2 * 2^30,
      ["3T"] = 3 * 2^40, ["3t"] = 3 * 2^40, ["3TiB"] = 3 * 2^40,
      ["1P"] = 2^50, ["1p"] = 2^50, ["1PiB"] = 2^50, ["4095P"] = 4095 * 2^50,
      ["1.5G"] = 1.5 * 2^30, ["0.5K"] = 512, ["1.3K"] = 1331, -- a fraction of a byte is rounded down
      ["007M"] = 7 * 2^20,
    } do
      local v = units.size(s)
      assert.are.equal(n, v, s)
      assert.are.equal("integer", math.type(v), s)
    end
    assert.are.equal(4096, units.size(4096))
    assert.are.equal(4096, units.size(4096.0))
    assert.are.equal((1 << 62) - 1, units.size((1 << 62) - 1))
    assert.are.equal("max", units.size("max", true))
  end)

  it("refuses decimal and bit units, saying what is accepted", function()
    for _, s in ipairs { "512MB", "1Gb", "1mb", "1kB", "1KB", "2GB", "1TB", "1Mb", "1gib", "1Kib", "1mib", "1MIB",
                         "1b", "1E", "1EiB", "12Q", "1bytes" } do
      local v, what, hint = units.size(s)
      assert.is_nil(v, s)
      assert.are.equal('a size like 1048576, "50M", "1.5G", below 4 EiB', what)
      assert.are.equal(("%q is not a unit: %s"):format(s:match("%a+$"), units.SIZE_UNITS), hint, s)
    end
    assert.are.equal('recipe.limits.memory: expected a size above 0 like 1048576, "50M", "1.5G" or "max", '
      .. 'below 4 EiB, got "512MB": "MB" is not a unit: units are binary: K, M, G, T, P (or k, m, g, t, p, '
      .. 'or KiB, MiB, GiB, TiB, PiB), 1M = 1048576 bytes; B or none is bytes',
      err_of { limits = { memory = "512MB" } })
    -- every size of a recipe follows the one rule
    assert.truthy(err_of { limits = { swap = "1Gb" } }:find('^recipe.limits.swap: .*got "1Gb": "Gb" is not a unit'))
    assert.truthy(err_of { limits = { output = "1MB" } }:find('^recipe.limits.output: .*"MB" is not a unit'))
    assert.truthy(err_of { limits = { rlimits = { fsize = "10mb" } } }:find('^recipe.limits.rlimits.fsize: .*"mb" is not a unit'))
    assert.truthy(err_of { limits = { io = { ["8:0"] = { wbps = "10MB" } } } }:find('^recipe.limits.io%["8:0"%].wbps: .*"MB" is not a unit'))
    assert.truthy(err_of { mounts = { { "tmpfs", "/tmp", size = "64MB" } } }:find('^recipe.mounts%[1%].size: .*"MB" is not a unit'))
    assert.truthy(err_of { mounts = { { "overlay", "/srv", "/work", size = "1GB" } } }:find('^recipe.mounts%[1%].size: .*"GB" is not a unit'))
  end)

  it("refuses what is not a whole number of bytes or not a number at all", function()
    for _, s in ipairs { "1.5", "1.5B", 1.5, 0.25 } do
      local v, _, hint = units.size(s)
      assert.is_nil(v, tostring(s))
      assert.truthy(hint and hint:find("whole number", 1, true), tostring(s))
    end
    for _, s in ipairs { "", "M", "MiB", ".5M", "1.", "1.M", "1..5M", "1.5.5G", "1 G", " 1G", "1G ", "1e9", "0x10",
                         "-1", "+1", "-1M", "4096P", "9999999999999999999", "max", "MAX", -5, 2^62, 0/0,
                         math.huge, true, {} } do
      assert.is_nil(units.size(s), tostring(s))
    end
    assert.truthy(err_of { limits = { memory = 1.5 } }:find("got 1.5: a size is a whole number of bytes", 1, true))
  end)

  it("refuses limits of 0 that would leave the jail nothing", function()
    for _, f in ipairs { "memory", "memory_high" } do
      for _, z in ipairs { 0, "0", "0M", "0B" } do
        assert.are.equal(("recipe.limits.%s: expected a size above 0 like 1048576, \"50M\", \"1.5G\" or \"max\", "
          .. "below 4 EiB, got %s: a limit of 0 leaves the jail nothing: leave it out, or say \"max\", for no limit")
          :format(f, type(z) == "string" and ("%q"):format(z) or z), err_of { limits = { [f] = z } })
      end
    end
    assert.truthy(err_of { limits = { io = { ["8:0"] = { rbps = 0 } } } }:find("a limit of 0 leaves the jail nothing", 1, true))
    assert.are.equal('recipe.mounts[1].size: expected a size above 0 like 1048576, "50M", "1.5G", below 4 EiB, got 0: '
      .. "tmpfs takes size=0 as no limit at all: leave size out for that",
      err_of { mounts = { { "tmpfs", "/tmp", size = 0 } } })
    assert.truthy(err_of { mounts = { { "overlay", "/srv", "/work", size = "0K" } } }:find("size=0 as no limit", 1, true))
    for _, p in ipairs { 0, 1 } do
      assert.are.equal(('recipe.limits.pids: expected an integer >= 2 or "max", got %d: '):format(p)
        .. "the jail's init counts: pids = 2 is init and the command (which cannot fork)",
        err_of { limits = { pids = p } })
    end
    assert.truthy(err_of { limits = { pids = -3 } }:find('^recipe.limits.pids: expected an integer >= 2 or "max", got %-3$'))
    -- 0 where it means something: no swap, no protection, no core files
    local plan = sb.compile { command = { "/bin/true" }, limits = { swap = 0, memory_low = 0, memory_min = "0",
      pids = 2, output = 1, rlimits = { core = 0, fsize = "0" } } }
    local w = {}
    for _, x in ipairs(plan.cgroup.writes) do w[x[1]] = x[2] end
    assert.are.same({ ["memory.swap.max"] = "0", ["memory.low"] = "0", ["memory.min"] = "0", ["pids.max"] = "2" }, w)
    assert.are.same({ { name = "core", soft = 0, hard = 0 }, { name = "fsize", soft = 0, hard = 0 } }, plan.rlimits)
  end)

  it("holds for limits set on a live jail too", function()
    local h = assert(sb.spawn(H.bb("sleep 5", { cgroup = false, stdio = { stdout = "null", stderr = "null" } })))
    for limit, bad in pairs { memory = 0, memory_high = "512MB", pids = 1 } do
      local ok, e = pcall(h.set_limit, h, limit, bad)
      assert.is_false(ok, limit)
      assert.truthy(tostring(e):find("set_limit." .. limit .. ": expected ", 1, true), tostring(e))
    end
    local ok, e = pcall(h.set_limit, h, "memory", "1Gb")
    assert.is_false(ok)
    assert.truthy(tostring(e):find('"Gb" is not a unit: units are binary', 1, true), tostring(e))
    h:kill("KILL")
    h:close()
  end)

  it("lets every size the specs, examples and README use through", function()
    local seen = 0
    local p = assert(io.popen(("cd %s && ls spec/*.lua examples/*.lua scripts/*.lua README.md"):format(H.root)))
    for f in p:read("a"):gmatch("[^\n]+") do
      -- (the bad sizes of the specs of errors are meant to be)
      if not ({ ["spec/units_spec.lua"] = 1, ["spec/recipe_spec.lua"] = 1, ["spec/hostile_spec.lua"] = 1 })[f] then
        local fh = assert(io.open(H.root .. "/" .. f))
        local src = fh:read("a")
        fh:close()
        for k, s in src:gmatch('(%a[%w_]*) = "([%d.]+%a*)"') do
          if ({ size = 1, memory = 1, memory_high = 1, memory_low = 1, memory_min = 1, swap = 1, output = 1,
                fsize = 1, rbps = 1, wbps = 1 })[k] then
            assert.is_not_nil(units.size(s), f .. ": " .. k .. " = " .. s)
            seen = seen + 1
          end
        end
      end
    end
    p:close()
    assert.is_true(seen > 20, tostring(seen))
  end)
end)

describe("the least pids #cgroup", function()
  it("is 2: the jail's init counts, so pids = 2 runs the command, which cannot fork", function()
    local r = H.run("echo builtin only", { limits = { pids = 2 } })
    assert.are.equal("exited", r.status, r.stderr)
    assert.are.equal(0, r.exit_code)
    assert.are.equal("builtin only\n", r.stdout)
    assert.are.equal(0, r.pids_max_hits)
    r = H.run("/bin/true; echo forked", { limits = { pids = 2 } })
    assert.are.equal("", r.stdout)
    assert.truthy(r.stderr:find("can't fork", 1, true), r.stderr)
    assert.is_true(r.pids_max_hits > 0)
    r = H.run("/bin/true; echo forked", { limits = { pids = 3 } })
    assert.are.equal("forked\n", r.stdout)
  end)
end)
