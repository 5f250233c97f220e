-- fuzz-seeds.lua DIR: write the plans a range of recipes compile to (and a
-- pool's job) as seed inputs for fuzz/plan_decode.c.
--   lua5.4 scripts/fuzz-seeds.lua fuzz/corpus/plan_decode
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local sb = require "cgsandbox"
local core = sb.core
local dir = assert(arg[1], "usage: fuzz-seeds.lua DIR")
local recipes = {
  default = { command = { "/bin/true" } },
  rootfs = { rootfs = "build/rootfs/busybox", command = "echo hi", hostname = "fuzz",
             mounts = { { "tmpfs", "/tmp", size = "1M" }, { "bind", "/usr", "/usr", ro = true },
                        { "file", "/etc/motd", "hello\n", mode = "0600" }, { "dir", "/work" },
                        { "symlink", "/usr/bin", "/bin2" }, { "overlay", "/usr/share", "/share" } } },
  limits = { command = { "/bin/sh", "-c", "x" }, env = { A = "1", PATH = "/bin" }, cwd = "/tmp",
             user = { uid = 1000, gid = 1000, groups = { 10, 20 } }, umask = "027",
             limits = { rlimits = { nofile = 64, core = 0, fsize = "1M", nproc = { soft = 10, hard = 20 } } },
             capabilities = { "net_bind_service" }, stdio = { stdout = "null", stderr = "null" } },
  custom_seccomp = { command = { "/bin/true" }, seccomp = { default = "errno", allow = { "read", "write" } } },
  no_seccomp = { command = { "/bin/true" }, seccomp = false, namespaces = { "mount", "pid", "user" },
                 masked_paths = {}, readonly_paths = { "/proc/sys" }, sys = false, root_switch = "chroot" },
  tty = { command = { "/bin/sh" }, tty = true, network = "host" },
}
local n = 0
for name, r in pairs(recipes) do
  local plan = sb.compile(r, { getuid = function() return 0 end })
  local f = assert(io.open(("%s/%s.plan"):format(dir, name), "wb"))
  f:write(assert(core.plan_bytes(plan)))
  f:close()
  n = n + 1
  f = assert(io.open(("%s/%s.job"):format(dir, name), "wb"))
  f:write(assert(core.plan_bytes(plan, "job")))
  f:close()
  plan.park = true
  f = assert(io.open(("%s/%s.parked"):format(dir, name), "wb"))
  f:write(assert(core.plan_bytes(plan)))
  f:close()
  n = n + 2
end
print(("fuzz-seeds: %d plans in %s"):format(n, dir))
