-- Soak: many jails through run_all and sb.run, with capture and cgroup
-- limits, from one Lua state.  Nothing may fail or be left behind: fds,
-- mounts, cgroup leaves, child processes, registry anchors; the RSS
-- growth per 1000 jails is printed.  400 jails in CI; SOAK=1 runs 10,000
-- (SOAK=N: N).  In the cgroup v2 VM: the limits are real there.
local H = require "spec.support.helper"
local sb = H.sb

local soak = os.getenv("SOAK")
local N = soak == "1" and 10000 or tonumber(soak or "") or 400

local function rss_kib()
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmRSS:%s+(%d+)")
    if v then return tonumber(v) end
  end
end

local function anchors()
  local n = 0
  for _ in pairs(debug.getregistry()["cgsandbox.anchor"] or {}) do n = n + 1 end
  return n
end

local LIMITS = { memory = "64M", pids = 32, wall = "30s", output = "64K" }

local function check(r, i, bad)
  if r.status ~= "exited" or r.exit_code ~= 0 or r.stdout ~= ("out %d\n"):format(i)
     or r.stderr ~= "err\n" or (r.memory_peak or 0) <= 0 then
    bad[#bad + 1] = ("%d: %s %s %s"):format(i, tostring(r.status), tostring(r.exit_code), tostring(r.message or r.stdout))
  end
end

describe("a soak #cgroup", function()
  it(("runs %d jails with capture and limits: no failure, nothing left behind"):format(N), function()
    local function job(i)
      return H.bb(("echo out %d; echo err >&2"):format(i), { limits = LIMITS })
    end
    -- warm up, then take the baseline
    sb.run_all({ job(0), job(0) }, { parallel = 2 })
    collectgarbage()
    local fds, mounts, kids = H.fds(), H.mounts(), H.children()
    local rss0, t0, heap0 = rss_kib(), H.core.now(), collectgarbage("count")
    local bad, done, mark = {}, 0, rss0
    while done < N do
      local jobs = {}
      for i = 1, 50 do jobs[i] = job(done + i) end
      for i, r in ipairs(sb.run_all(jobs, { parallel = 4 })) do check(r, done + i, bad) end
      for i = 51, 100 do check(sb.run(job(done + i)), done + i, bad) end
      done = done + 100
      if done % 1000 == 0 or done == N then
        collectgarbage()
        local rss = rss_kib()
        io.stderr:write(("soak: %d jails, %.0f/s, RSS %d KiB (%+d KiB since the last mark, %+d since the start)\n")
          :format(done, done / (H.core.now() - t0), rss, rss - mark, rss - rss0))
        mark = rss
      end
    end
    assert.are.equal(0, #bad, table.concat(bad, "\n", 1, math.min(#bad, 10)))
    assert.are.equal(fds, H.fds())
    assert.are.equal(mounts, H.mounts())
    assert.are.equal(0, H.leaves())
    assert.are.equal(kids, H.children())
    collectgarbage()
    assert.are.equal(0, anchors())
    -- the Lua heap does not grow with the jails run (the anchor leak grew
    -- it 12 KiB per 1000)
    collectgarbage()
    local heap = collectgarbage("count") - heap0
    io.stderr:write(("soak: Lua heap %+.1f KiB over %d jails\n"):format(heap, N))
    assert.is_true(heap < 64, ("the Lua heap grew %.1f KiB over %d jails"):format(heap, N))
  end)
end)
