-- smoke.lua: check this host's cgroup v2 support natively, with the host
-- binary alone (no busted, no Lua install):
--   sandboxlua scripts/smoke.lua -- ROOTFS HOG
-- ROOTFS: a busybox rootfs (scripts/rootfs-busybox); HOG: build/spec/hog.
-- Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on a failure.
local sb = require "cgsandbox"
local rootfs, hog = ...
assert(rootfs and hog, "usage: sandboxlua scripts/smoke.lua -- ROOTFS HOG")
local hogdir = hog:match("^(.*)/[^/]+$")
local passed, failed = 0, 0

local function job(argv, extra)
  local r = { rootfs = rootfs, command = argv, stdio = { stdout = "capture", stderr = "capture" },
              mounts = { { "bind", hogdir, "/mnt", ro = true } } }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function check(name, fn)
  local ok, err = pcall(fn)
  if ok then passed = passed + 1; print("PASS " .. name)
  else failed = failed + 1; print("FAIL " .. name .. ": " .. tostring(err)) end
end

local function expect(cond, ...)
  if not cond then error(table.concat({ ... }, " "), 2) end
end

local mnt = sb.cgroup.mountpoint()
local parent = sb.cgroup.parent()
print(("cgroup2 at %s, jails under %s"):format(mnt, parent))

check("born in its leaf (CLONE_INTO_CGROUP)", function()
  local r = sb.run(job({ "/mnt/hog", "cgroup" }, { namespaces = { "pid", "mount", "uts", "ipc", "net" } }))
  expect(r.stdout:match("0::([^\n]*)") == r.cgroup:sub(#mnt + 1), r.stdout, r.cgroup)
end)

check("memory = 50M OOM-kills a 200M allocation", function()
  local r = sb.run(job({ "/mnt/hog", "mem", "200" }, { limits = { memory = "50M", swap = 0 } }))
  expect(r.status == "oom" and r.exit_code == 137 and r.oom_kills >= 1, r.status, r.exit_code, r.oom_kills)
  expect(r.memory_peak and r.memory_peak <= 52 * 2^20, "peak", r.memory_peak)
end)

check("cpu = 0.5 throttles a busy loop to about half a CPU", function()
  local r = sb.run(job({ "/mnt/hog", "spin", "2" }, { limits = { cpu = 0.5 } }))
  local share = r.cpu_s / r.wall_s
  expect(r.throttled_s > 0 and share > 0.3 and share < 0.7, r.throttled_s, share)
end)

check("pids = 5 stops a fork loop", function()
  local r = sb.run(job({ "/mnt/hog", "fork", "20" }, { limits = { pids = 5 } }))
  expect(r.stdout:find("ok 3 eagain 17", 1, true) and r.pids_max_hits > 0, r.stdout, r.pids_max_hits)
end)

check("every limit lands in its file", function()
  local h = assert(sb.spawn(job({ "/bin/sleep", "30" }, { limits = {
    memory = "64M", memory_high = "60M", memory_low = "1M", memory_min = "512K", swap = 0, oom_group = true,
    cpu = 0.5, cpu_weight = 200, cpuset = { cpus = "0", mems = "0" }, pids = 16 } })))
  local want = { ["memory.max"] = "67108864", ["memory.high"] = "62914560", ["memory.low"] = "1048576",
                 ["memory.min"] = "524288", ["memory.swap.max"] = "0", ["memory.oom.group"] = "1",
                 ["cpu.max"] = "50000 100000", ["cpu.weight"] = "200", ["cpuset.cpus"] = "0",
                 ["cpuset.mems"] = "0", ["pids.max"] = "16" }
  local bad = {}
  for f, v in pairs(want) do
    local got = h:get(f)
    if got ~= v then bad[#bad + 1] = f .. "=" .. tostring(got) end
  end
  h:close()
  expect(#bad == 0, table.concat(bad, " "))
end)

check("wall = 1s times out a sleeper and its children", function()
  local r = sb.run(job({ "/bin/sh", "-c", "sleep 100 & sleep 100" }, { limits = { wall = "1s" } }))
  expect(r.status == "timeout" and r.wall_s < 5, r.status, r.wall_s)
end)

check("50 jails through run_all{parallel=8}", function()
  local jobs = {}
  for i = 1, 50 do jobs[i] = job({ "/bin/sh", "-c", "echo " .. i .. "; exit " .. (i % 5) }, { limits = { memory = "32M", pids = 16 } }) end
  local t0 = sb.core.now()
  local rs = sb.run_all(jobs, { parallel = 8 })
  local dt = sb.core.now() - t0
  for i, r in ipairs(rs) do expect(r.exit_code == i % 5 and r.stdout == i .. "\n", i, r.status) end
  print(("     50 jails in %.2fs (%.0f jails/s)"):format(dt, 50 / dt))
end)

check("no leaf left behind", function()
  local p = io.popen("ls " .. parent .. " | grep -c '^sbx-'")
  local n = p:read("a")
  p:close()
  expect(tonumber(n) == 0, n)
end)

print(("%d passed, %d failed"):format(passed, failed))
return failed == 0 and 0 or 1
