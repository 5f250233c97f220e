-- ci-matrix: a matrix of test commands, each in its own limited jail, two
-- at a time; a summary table at the end, exit 1 when any job failed.
--   sandboxlua [--json results.json] [--junit report.xml] examples/ci-matrix.lua
-- Limits are marked optional so the matrix also runs on hosts whose cgroup
-- controllers are not usable (a hybrid host): the result says which were
-- skipped.  The fork bomb is also held by RLIMIT_NPROC as an unprivileged uid.
local rootfs = os.getenv("SBX_ROOTFS") or "build/rootfs/busybox"

local function job(name, cmd, limits, extra)
  local j = {
    name = name,
    rootfs = rootfs,
    command = { "/bin/sh", "-c", cmd },
    stdio = { stdout = "capture", stderr = "capture" },
    limits = limits or {},
  }
  j.limits.wall = j.limits.wall or "10s"
  j.limits.optional = true
  for k, v in pairs(extra or {}) do j[k] = v end
  return j
end

return {
  parallel = 2,
  jobs = {
    job("unit-tests", "echo running; for i in 1 2 3; do echo test $i ok; done"),
    job("lint", "echo 'src/x.c:3: trailing whitespace' >&2; exit 1"),
    job("memory-hog", "x=$(head -c 200000000 /dev/zero | tr '\\0' x); echo survived ${#x}",
        { memory = "64M", swap = 0 }),
    job("fork-bomb", "bomb() { bomb | bomb & }; bomb; sleep 2; echo still here",
        { pids = 32, wall = "5s", rlimits = { nproc = 64 } }, { user = { uid = 65534, gid = 65534 } }),
    job("sleeper", "sleep 100", { wall = "2s" }),
    job("cpu-bound", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done $i",
        { cpu = 0.5 }),
  },
}
