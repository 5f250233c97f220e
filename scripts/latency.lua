-- latency.lua: start-to-exit time of one /bin/true jail, in-process.
--   sandboxlua scripts/latency.lua -- ROOTFS [N]
local sb = require "cgsandbox"
local rootfs, n = ...
n = tonumber(n) or 200
local recipe = { rootfs = rootfs, command = { "/bin/true" }, mounts = { { "tmpfs", "/tmp" } },
                 limits = { memory = "64M", pids = 64, optional = true } }
local function measure(r)
  for _ = 1, 20 do sb.run(r) end
  local t = {}
  for i = 1, n do
    local t0 = sb.core.now()
    local res = sb.run(r)
    t[i] = sb.core.now() - t0
    assert(res.exit_code == 0, res.message)
  end
  table.sort(t)
  return t[n // 2] * 1000, t[n * 9 // 10] * 1000
end
print(("full jail (6 namespaces, pivot_root, /proc, /dev, sysfs, masks, tmpfs, seccomp, cgroup with memory+pids): median %.3f ms, p90 %.3f ms"):format(measure(recipe)))
local minimal = { rootfs = rootfs, command = { "/bin/true" }, seccomp = false, masked_paths = {}, readonly_paths = {},
                  dev = false, sys = false, cgroup = false }
print(("minimal (namespaces, pivot_root, /proc, caps dropped): median %.3f ms, p90 %.3f ms"):format(measure(minimal)))
