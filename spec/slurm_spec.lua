-- --slurm: a job list on a real one-node Slurm cluster (munged, slurmctld,
-- slurmd started by spec/support/slurm.lua in a temporary directory) gives
-- the results a local run gives; what Slurm does to a task (scancel, its
-- time limit) and what the host is told (SIGTERM) end as results.
local H = require "spec.support.helper"
local S = require "spec.support.slurm"

local cluster, tmp
-- the Slurm time limit's job: submitted first (a minute of Slurm's time
-- limit, and up to 30 s until slurmctld looks), collected last
local slow = {}

local function file(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
  return path
end

local json_of = S.json_of

-- a host in the background with this cluster's config: its pid; its exit
-- status lands in rcfile
local function background(args, out, rcfile)
  local pid = H.sh(("(export %s; %s %s >%s 2>&1; echo $? >%s) </dev/null >/dev/null 2>&1 & echo $!")
    :format(cluster.env, H.bin, args, out, rcfile))
  -- $! is the subshell: the host is its only child
  local sub = assert(math.tointeger(tonumber(pid:match("(%d+)%s*$"))))
  local host
  for _ = 1, 50 do
    host = H.sh("ps -o pid= --ppid " .. sub):match("(%d+)")
    if host then break end
    H.sh("sleep 0.05")
  end
  return math.tointeger(tonumber(host)), sub
end

local function wait_file(path, secs)
  local deadline = H.core.now() + secs
  while H.core.now() < deadline do
    local f = io.open(path)
    if f then
      local s = f:read("a")
      f:close()
      if s ~= "" then return s end
    end
    H.sh("sleep 0.2")
  end
end

-- the Slurm job id and state of this run's tasks (squeue: JOBID_TASK STATE)
local function tasks(name)
  local out = cluster:sh(("squeue -h -n %s -o '%%i %%T'"):format(name))
  local t = {}
  for id, st in out:gmatch("(%S+) (%S+)") do t[#t + 1] = { id = id, state = st } end
  return t
end

local function wait_running(name, secs)
  local deadline = H.core.now() + secs
  while H.core.now() < deadline do
    for _, t in ipairs(tasks(name)) do
      if t.state == "RUNNING" and t.id:match("^%d+_%d+$") then return t.id end
    end
    H.sh("sleep 0.2")
  end
end

describe("sandboxlua --slurm #slurm", function()
-- the cluster starts with the first spec that needs it, not in setup():
-- busted runs a block's setup even when a tag filter (the VM's cgroup pass)
-- leaves none of its specs to run
local function up()
  if cluster then return end
  local why
  cluster, why = S.start { oci = S.oci_conf }
  assert(cluster, why)
  tmp = H.tmpdir()
  local list = file(tmp .. "/slow.lua", ([[return { { name = "over-slurm-time", rootfs = %q,
    command = { "/bin/sleep", "300" } } }]]):format(H.busybox))
  slow.rc, slow.out, slow.json = tmp .. "/slow.rc", tmp .. "/slow.out", tmp .. "/slow.json"
  slow.pid = background(("--slurm --slurm-dir %s/slow-shared --slurm-opt=--time=1 --slurm-opt=--job-name=sbxslow --json %s %s")
    :format(tmp, slow.json, list), slow.out, slow.rc)
end

teardown(function()
  if cluster then cluster:stop() end
  if tmp then os.execute("rm -rf " .. tmp) end
end)

  it("gives a job list the statuses, exit codes, output and JUnit testcases of a local run", function()
    up()
    local marks = tmp .. "/hooks"
    local list = file(tmp .. "/jobs.lua", S.list(H.busybox, false))
    local payloads = H.root .. "/build/spec"
    local run = S.run_both(cluster, tmp, list, marks, payloads, "--partition " .. cluster.partition)
    local sout, L, R = run.sout, run.L, run.R
    assert.are.equal(1, run.lrc, run.lout)
    assert.are.equal(run.lrc, run.src, sout)
    assert.are.equal(20, #L)
    assert.are.equal(#L, #R)
    assert.are.same({}, S.differences(L, R, { "name", "status", "exit_code", "signal", "timeout", "stdout", "stderr" },
      cluster.host), sout)
    for i, r in ipairs(R) do
      assert.truthy(tostring(r.slurm_job):match("^%d+_" .. (i - 1) .. "$"), r.slurm_job)
    end
    -- what the jobs did, checked once (the comparison holds the rest)
    local by = {}
    for _, r in ipairs(R) do by[r.name] = r end
    assert.are.equal("hello\n", by.hello.stdout)
    assert.are.equal("to-stderr\n", by.hello.stderr)
    assert.are.equal(42, by.exit42.exit_code)
    assert.are.equal("signaled", by.kill9.status)
    assert.are.equal(137, by.kill9.exit_code)
    assert.are.equal("SIGSEGV", by.segv.signal)
    assert.are.equal(3000, select(2, by.lines.stdout:gsub("\n", "")))
    assert.are.equal("timeout", by.wall.status)
    assert.are.equal("hi from env\n", by.env.stdout)
    assert.are.equal("piped in\n", by.stdin.stdout)
    assert.are.equal("computed 14\n", by.computed2.stdout)
    assert.are.equal("setup_error", by.nobind.status)
    assert.truthy(by.nobind.message:find("/nonexistent-sbx-slurm", 1, true), by.nobind.message)
    assert.truthy(by.norootfs.message:find("on node " .. cluster.host .. ": rootfs /nonexistent-sbx-rootfs", 1, true),
      by.norootfs.message)
    assert.are.equal("x\n", by.mounts.stdout)
    for _, k in ipairs { "hello", "nobind", "norootfs" } do
      -- setup errors: the step and errno of a local run, the node named
      local l
      for _, x in ipairs(L) do if x.name == k then l = x end end
      assert.are.equal(l.step, by[k].step)
      assert.are.equal(l.errno, by[k].errno)
      if l.message then assert.are.equal("on node " .. cluster.host .. ": " .. l.message, by[k].message) end
    end
    -- the JUnit testcases: names, and failure/error elements with their type
    local cases = S.junit_cases
    local lc, rc = cases(tmp .. "/local.xml"), cases(tmp .. "/slurm.xml")
    assert.are.equal(20, #lc)
    assert.are.same(lc, rc)
    local counts, lines = S.junit_counts, S.sorted_lines
    assert.are.equal(counts(tmp .. "/local.xml"), counts(tmp .. "/slurm.xml"))
    assert.are.equal('tests="20" failures="9" errors="2" skipped="0"', counts(tmp .. "/slurm.xml"))
    -- hooks ran on the submit host, once per job, for both runs
    assert.are.same(lines(marks .. ".local"), lines(marks .. ".slurm"))
    assert.are.equal(20, #lines(marks .. ".slurm"))
    -- the shared directory of the run is removed at the end
    assert.are.equal("", (H.sh("ls -A " .. tmp .. "/shared")))
  end)

  it("ends a job cancelled with scancel as status cancelled, with Slurm's state", function()
    up()
    local list = file(tmp .. "/cancel.lua", ([[return { parallel = 2, jobs = {
      { name = "long", rootfs = %q, command = { "/bin/sleep", "60" } },
      { name = "short", rootfs = %q, command = { "/bin/true" } } } }]]):format(H.busybox, H.busybox))
    local out = tmp .. "/cancel.out"
    background(("--slurm --slurm-dir %s/shared --slurm-opt=--job-name=sbxcancel --json %s/cancel.json %s")
      :format(tmp, tmp, list), out, tmp .. "/cancel.rc")
    local id
    local deadline = H.core.now() + 15
    repeat
      id = wait_running("sbxcancel", 1)
    until (id and id:match("_0$")) or H.core.now() > deadline
    assert.truthy(id and id:match("_0$"), "the long job never ran: " .. cluster:sh("squeue"))
    cluster:sh("scancel " .. id)
    local rc = wait_file(tmp .. "/cancel.rc", 20)
    assert.are.equal("1\n", rc, H.read(out))
    local R = json_of(tmp .. "/cancel.json")
    assert.are.equal("cancelled", R[1].status, H.read(out))
    assert.are.equal("CANCELLED", R[1].slurm_state)
    assert.truthy(R[1].message:find("CANCELLED", 1, true), R[1].message)
    assert.are.equal(id, R[1].slurm_job)
    assert.are.equal("exited", R[2].status)
    assert.are.equal(0, R[2].exit_code)
    assert.truthy(H.read(out):find("long%s+cancelled"), H.read(out))
  end)

  it("cancels what it submitted when the host gets SIGTERM", function()
    up()
    local list = file(tmp .. "/term.lua", ([[local j = {}
      for i = 1, 3 do j[i] = { name = "s" .. i, rootfs = %q, command = { "/bin/sleep", "60" } } end
      return { parallel = 1, jobs = j }]]):format(H.busybox))
    local out = tmp .. "/term.out"
    local pid = background(("--slurm --slurm-dir %s/shared --slurm-opt=--job-name=sbxterm --json %s/term.json %s")
      :format(tmp, tmp, list), out, tmp .. "/term.rc")
    assert.truthy(wait_running("sbxterm", 15), "never ran: " .. cluster:sh("squeue"))
    H.sh("kill -TERM " .. pid)
    local rc = wait_file(tmp .. "/term.rc", 20)
    assert.are.equal("143\n", rc, H.read(out))
    local R = json_of(tmp .. "/term.json")
    assert.are.equal("interrupted", R[1].status)
    assert.are.equal("SIGTERM", R[1].interrupted_by)
    assert.are.equal("skipped", R[2].status)
    assert.are.equal("skipped", R[3].status)
    assert.are.same({}, tasks("sbxterm")) -- nothing of it left in Slurm
  end)

  it("finds the Slurm step's cgroup in /proc/self/cgroup on a cgroup-v2 node, and only there", function()
    local slurm = require "cgsandbox.slurm"
    local mnt = "/sys/fs/cgroup"
    assert.are.equal(mnt .. "/system.slice/n1_slurmstepd.scope/job_12/step_batch/user",
      slurm.step_cgroup("0::/system.slice/n1_slurmstepd.scope/job_12/step_batch/user/task_0\n", mnt))
    assert.are.equal(mnt .. "/system.slice/slurmstepd.scope/job_7/step_0/user",
      slurm.step_cgroup("0::/system.slice/slurmstepd.scope/job_7/step_0/user/task_3\n", mnt))
    assert.is_nil(slurm.step_cgroup("0::/user.slice/user-0.slice/session-1.scope\n", mnt))
    -- the step's slurm/ leaf (slurmstepd itself), and a hybrid host's lines
    assert.is_nil(slurm.step_cgroup("0::/system.slice/slurmstepd.scope/job_7/step_0/slurm\n", mnt))
    assert.is_nil(slurm.step_cgroup("12:memory:/slurm/uid_0/job_7/step_0/task_0\n0::/job_7/step_0/user/task_0\n", mnt))
  end)

  it("says clearly that sbatch is missing (exit 3) and submits nothing", function()
    up()
    local list = file(tmp .. "/none.lua", [[return { { command = { "/bin/true" } } }]])
    local out, rc = H.sh(("env PATH=/nonexistent %s --slurm %s"):format(H.bin, list))
    assert.are.equal(3, rc, out)
    assert.are.equal("sandboxlua: slurm: sbatch not found on PATH (install Slurm's client commands, "
      .. "or run without --slurm)\n", out)
    local out2, rc2 = H.sh(("%s --partition x %s"):format(H.bin, list))
    assert.are.equal(2, rc2, out2)
    assert.truthy(out2:find("go with --slurm", 1, true), out2)
  end)

  it("says clearly that no controller answers (exit 3) and submits nothing", function()
    -- a cluster whose slurmctld nobody runs: a port of its own, nothing on it
    local d = H.tmpdir()
    local port = H.sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'")
    file(d .. "/slurm.conf", ([[ClusterName=nobody
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=%d
AuthType=auth/munge
MessageTimeout=2
NodeName=localhost CPUs=1 State=UNKNOWN
PartitionName=p Nodes=localhost Default=YES
]]):format(tonumber(port)))
    local list = file(d .. "/one.lua", [[return { { command = { "/bin/true" } } }]])
    local out, rc = H.sh(("env SLURM_CONF=%s/slurm.conf %s --slurm --slurm-dir %s/shared %s"):format(d, H.bin, d, list))
    os.execute("rm -rf " .. d)
    assert.are.equal(3, rc, out)
    assert.matches("^sandboxlua: slurm: sbatch: [^\n]*[Uu]nable to contact slurm controller[^\n]*\n$", out)
  end)

  it("runs srun --container through oci.conf and sandboxlua's OCI runtime: output, exit codes, a jail", function()
    up()
    -- a bundle as Slurm wants one (it points root.path at BUNDLE/rootfs)
    local b = tmp .. "/bundle"
    os.execute(("mkdir -p %s && ln -s %s %s/rootfs"):format(b, S.abs(H.busybox), b))
    local so, src = H.sh(("cd %s && %s/sandboxlua-oci spec"):format(b, S.abs(H.build)))
    assert.are.equal(0, src, so)
    local host_ns = H.sh("readlink /proc/self/ns/pid")
    -- (stdout and stderr come back together here: srun's own line too)
    local out, rc = cluster:sh(("srun --container=%s /bin/sh -c 'echo hi from $(hostname); readlink /proc/self/ns/pid; "
      .. "echo to-stderr >&2; exit 7'"):format(b))
    assert.are.equal(7, rc, out)
    assert.truthy(out:find("hi from sandboxlua\n", 1, true), out) -- the config's hostname: its own uts namespace
    assert.truthy(out:find("\nto-stderr\n", 1, true), out)
    local ns = out:match("\n(pid:%[%d+%])\n")
    assert.truthy(ns, out)
    assert.are_not.equal(host_ns:match("pid:%[%d+%]"), ns) -- and its own pid namespace
    local _, rc9 = cluster:sh(("srun --container=%s /bin/sh -c 'kill -9 $$' 2>/dev/null"):format(b))
    assert.are.equal(137, rc9)
    -- run deleted each container: nothing left in the runtime's state
    assert.are.equal("", (H.sh("ls -A " .. cluster.oci_root)))
  end)

  it("ends a job whose node died (slurmd killed) as cancelled with Slurm's NODE_FAIL, and cleans up once it is back", function()
    up()
    -- a cluster of its own: its node is marked down within seconds
    local dead = assert(S.start { slurmd_timeout = 6 })
    finally(function() dead:stop() end)
    local list = file(tmp .. "/dead.lua", ([[return { { name = "on-a-dying-node", rootfs = %q,
      command = { "/bin/sleep", "40" } } }]]):format(H.busybox))
    local out, rcfile = tmp .. "/dead.out", tmp .. "/dead.rc"
    H.sh(("(export %s; %s --slurm --slurm-dir %s/dead-shared --slurm-opt=--job-name=sbxdead --json %s/dead.json %s >%s 2>&1; "
      .. "echo $? >%s) </dev/null >/dev/null 2>&1 &"):format(dead.env, H.bin, tmp, tmp, list, out, rcfile))
    local running
    for _ = 1, 75 do
      running = dead:sh("squeue -h -n sbxdead -o %T"):match("RUNNING")
      if running then break end
      H.sh("sleep 0.2")
    end
    assert.truthy(running, dead:sh("squeue"))
    H.sh("kill -KILL " .. dead.pids.slurmd)
    local rc = wait_file(rcfile, 60)
    assert.are.equal("1\n", rc, H.read(out))
    local R = json_of(tmp .. "/dead.json")
    assert.are.equal("cancelled", R[1].status, H.read(out))
    assert.are.equal("NODE_FAIL", R[1].slurm_state)
    assert.truthy(R[1].message:find("NODE_FAIL", 1, true), R[1].message)
    assert.truthy(H.read(out):find("on%-a%-dying%-node%s+cancelled"), H.read(out))
    -- the node comes back (ReturnToService=2): its slurmd finds the job's
    -- step still running and is told to end it
    dead:start_slurmd()
    assert(dead:wait_idle(30))
    -- (slurmstepd's socket in the spool directory: NODE_JOB.STEP)
    local left
    for _ = 1, 150 do
      left = H.sh("ls " .. dead.dir .. "/spool"):match("[^\n]*_%d+%.%d+\n")
      if not left then break end
      H.sh("sleep 0.2")
    end
    assert.falsy(left, "the step is still there: " .. tostring(left) .. dead:log("slurmd"):sub(-1500))
  end)

  it("ends a job over its Slurm time limit as status timeout, with Slurm's reason", function()
    up()
    local rc = wait_file(slow.rc, 120)
    assert.are.equal("1\n", rc, H.read(slow.out))
    local R = json_of(slow.json)
    assert.are.equal("timeout", R[1].status, H.read(slow.out))
    assert.are.equal("slurm", R[1].timeout)
    assert.are.equal("TIMEOUT", R[1].slurm_state)
    assert.are.equal("TimeLimit", R[1].slurm_reason)
    assert.truthy(R[1].message:find("time limit 00:01:00 reached", 1, true), R[1].message)
    assert.truthy(H.read(slow.out):find("over%-slurm%-time%s+timeout%(slurm%)"), H.read(slow.out))
  end)
end)
