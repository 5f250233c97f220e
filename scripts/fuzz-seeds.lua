-- fuzz-seeds.lua CORPUS: write the seed inputs of every fuzz target into
-- CORPUS/<target>: the plans a range of recipes compile to (and a pool's
-- job) for plan_decode; the recipes themselves, encoded, for
-- recipe_compile; unit values for units; cgroup and mount files for
-- cg_parse.
--   lua5.4 scripts/fuzz-seeds.lua fuzz/corpus
package.path = "lua/?.lua;lua/?/init.lua;fuzz/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local sb = require "cgsandbox"
local V = require "luaval"
local core = sb.core
local corpus = assert(arg[1], "usage: fuzz-seeds.lua CORPUS")
local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end
local dir = corpus .. "/plan_decode"
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
  -- the plan's extension block: seccomp flags, five capability sets,
  -- sysctls, oom_score_adj, domainname, personality
  kernel_fields = { command = { "/bin/true" },
    seccomp = { default = "errno", default_errno = 38, architectures = { "x86" }, flags = { "log" },
                rules = { { "execve", "exit_group", action = "allow" },
                          { "personality", action = "allow", args = { { 0, "==", 0xffffffff } } },
                          { "socket", action = "errno", errno = 97, args = { { 0, "&=", 0xff, 40 } } } } },
    capabilities = { bounding = { "kill", "chown" }, permitted = { "kill" }, effective = { "kill" },
                     inheritable = { "kill" }, ambient = { "kill" } },
    sysctl = { ["net.ipv4.ping_group_range"] = "0 1", ["kernel.shmmni"] = 10 },
    oom_score_adj = 100, domainname = "fuzz.example", personality = "linux32" },
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

-- recipe_compile: the same recipes and some jobs, as luaval bytes; the
-- byte after the value picks compile (1) or compile_job (0)
local jobs = {
  plain = { command = { "/bin/true" }, limits = { wall = "10s", output = "1M" } },
  stdio = { command = "echo hi", stdout = "capture", env = { A = "1" }, cwd = "/tmp" },
}
n = 0
os.execute("mkdir -p " .. corpus .. "/recipe_compile " .. corpus .. "/units " .. corpus .. "/cg_parse")
for name, r in pairs(recipes) do
  write(("%s/recipe_compile/%s"):format(corpus, name), V.encode(r) .. "\1")
  n = n + 1
end
for name, j in pairs(jobs) do
  write(("%s/recipe_compile/job_%s"):format(corpus, name), V.encode(j) .. "\0")
  n = n + 1
end
print(("fuzz-seeds: %d recipes in %s/recipe_compile"):format(n, corpus))

-- units: the forms each parser takes, and its edges
local values = { "50M", "1.5G", "max", "30s", "500ms", "2m", "1h", "0-3", "0,2-3", "0755",
                 0.5, 2, 4096, 4294967294, 4294967295, 2^62, 365 * 86400, -1, 0, 1e300, "1e5" }
for i, v in ipairs(values) do
  write(("%s/units/v%02d"):format(corpus, i), V.encode(v) .. "\1")
end
print(("fuzz-seeds: %d values in %s/units"):format(#values, corpus))

-- cg_parse: the first byte picks the parser (sel % 9) and the output size
-- (sel >> 3); the rest is the file
local files = {
  { 0, "1\n42\n4194304\n4194305\n0\n007\n12345678901234567890\n99" },
  { 1, "1073741824\n" }, { 1, "max\n" },
  { 2, "low 0\nhigh 3\nmax 17\noom 2\noom_kill 2\noom_group_kill 0\n" },
  { 2, "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 0\nthrottled_usec 0\n" },
  { 3, "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
       .. "26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
       .. "40 22 0:30 / /mnt/with\\040space rw - cgroup2 none rw\n" },
  { 4, "12:hugetlb:/\n1:name=systemd:/init.scope\n0::/user.slice/user-1000.slice/session-2.scope\n" },
  { 5, "memory\n12:cpu,cpuacct:/\n11:memory:/user.slice\n0::/\n" },
  { 5, "pids\ncpuset cpu io memory hugetlb pids rdma misc" },
  { 6, "some avg10=1.23 avg60=0.05 avg300=0.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" },
  { 7, "254:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0\n8:16 rbytes=7 wbytes=x rios=1\nbad line\n7:0 rbytes=1" },
  { 8, "memory.max" }, { 8, "cpuset cpu io memory hugetlb pids rdma misc\n" },
}
-- a large output size (sel >> 3 = 29 or 30) whose sel % 9 is the parser
local base = 9 * (240 // 9)
for i, f in ipairs(files) do
  write(("%s/cg_parse/f%02d"):format(corpus, i), string.char(base + f[1]) .. f[2])
end
print(("fuzz-seeds: %d files in %s/cg_parse"):format(#files, corpus))
