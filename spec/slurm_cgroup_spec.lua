-- --slurm on a cgroup-v2 node (the test VM): a one-node cluster with
-- proctrack/cgroup, task/cgroup and cgroup.conf's cgroup/v2 plugin
-- (IgnoreSystemd=yes: the VM has no systemd), memory a consumable
-- resource.  The comparison list with an OOM kill gives the results a
-- local run gives, and each jail lives below its Slurm step's cgroup,
-- where the job's --mem holds over it.
local H = require "spec.support.helper"
local S = require "spec.support.slurm"

local cluster, tmp
local payloads = S.abs(H.root .. "/build/spec")

local json_of, cases, counts, lines = S.json_of, S.junit_cases, S.junit_counts, S.sorted_lines

describe("sandboxlua --slurm on a cgroup-v2 node #slurm #cgroup", function()
  -- started by the first spec (busted runs setup() under any tag filter)
  local function up()
    if cluster then return end
    local why
    cluster, why = S.start { cgroup = true, timeout = 60 }
    assert(cluster, why)
    tmp = H.tmpdir()
  end

  teardown(function()
    if cluster then cluster:stop() end
    if tmp then os.execute("rm -rf " .. tmp) end
  end)

  it("gives the 20-job list with an OOM kill the statuses, exit codes, output and JUnit of a local run", function()
    up()
    local list = tmp .. "/jobs.lua"
    H.write(list, S.list(H.busybox, true))
    local marks = tmp .. "/hooks"
    local run = S.run_both(cluster, tmp, list, marks, payloads)
    local sout, L, R = run.sout, run.L, run.R
    assert.are.equal(1, run.lrc, run.lout)
    assert.are.equal(run.lrc, run.src, sout)
    assert.are.equal(20, #L)
    assert.are.equal(#L, #R)
    assert.are.same({}, S.differences(L, R, { "name", "status", "exit_code", "signal", "timeout", "stdout", "stderr",
      "step", "errno" }, cluster.host), sout)
    local by = {}
    for _, r in ipairs(R) do by[r.name] = r end
    -- the OOM kill, from the jail's own memory.events, on both sides
    assert.are.equal("oom", by.oom.status)
    assert.is_true(by.oom.oom_events >= 1)
    -- the jails of the Slurm run lived below their steps' cgroups
    for _, r in ipairs(R) do
      if r.status ~= "setup_error" then
        assert.truthy(r.slurm_cgroup and r.slurm_cgroup:match("/job_%d+/step_batch/user$"), r.slurm_cgroup)
        assert.are.equal(r.slurm_cgroup, r.cgroup:match("^(.*)/[^/]+$"), r.cgroup)
      end
    end
    local lc, rc = cases(tmp .. "/local.xml"), cases(tmp .. "/slurm.xml")
    assert.are.equal(20, #lc)
    assert.are.same(lc, rc)
    assert.are.equal(counts(tmp .. "/local.xml"), counts(tmp .. "/slurm.xml"))
    assert.are.equal('tests="20" failures="9" errors="2" skipped="0"', counts(tmp .. "/slurm.xml"))
    assert.are.same(lines(marks .. ".local"), lines(marks .. ".slurm"))
  end)

  it("nests each jail under its Slurm step's cgroup, where the job's --mem holds over it", function()
    up()
    local list = tmp .. "/nest.lua"
    -- no cgroup namespace: /proc/self/cgroup shows the kernel's full path
    H.write(list, ([[local bb, p = %q, %q
      local function j(name, argv) return { name = name, rootfs = bb, command = argv,
        namespaces = { "pid", "mount", "uts", "ipc", "net" },
        mounts = { { "bind", p, "/mnt", ro = true } }, stdio = { stdout = "capture", stderr = "capture" } } end
      return { parallel = 2, jobs = { j("where", { "/mnt/hog", "cgroup" }),
        j("under", { "/mnt/hog", "mem", "16" }), j("over", { "/mnt/hog", "mem", "200" }) } }]])
      :format(S.abs(H.busybox), payloads))
    local out, rc = cluster:sh(("%s -q --slurm --slurm-dir %s/shared --slurm-opt=--mem=64M --json %s/nest.json %s")
      :format(H.bin, tmp, tmp, list))
    assert.are.equal(1, rc, out)
    local R = json_of(tmp .. "/nest.json")
    local mnt = H.core.cgroup_mountpoint()
    -- the kernel's word: the jail's cgroup is a child of the step's user/
    local path = R[1].stdout:match("^0::(/[^\n]+)\n")
    assert.truthy(path, R[1].stdout)
    local job, leaf = path:match("/job_(%d+)/step_batch/user/([^/]+)$")
    assert.truthy(job, path)
    assert.falsy(leaf:match("^task_"), path)
    assert.are.equal(mnt .. path, R[1].cgroup)
    -- and Slurm's own view of that job: its task ran there
    assert.truthy(R[1].slurm_job:match("^%d+_0$"), R[1].slurm_job)
    -- no memory limit of their own: 16 MiB fits the step's 64M, 200 MiB
    -- is killed by the OOM killer of the step's memory.max
    assert.are.equal("exited", R[2].status, R[2].message)
    assert.are.equal("allocated 16\n", R[2].stdout)
    assert.are.equal("oom", R[3].status, out)
    -- Slurm saw it too (task/cgroup reads the step's memory.events as
    -- the step ends; the host may have had the node's result before)
    local state
    for _ = 1, 100 do
      state = cluster:sh("scontrol show job -o " .. R[3].slurm_job):match("JobState=(%S+)")
      if state ~= "RUNNING" and state ~= "COMPLETING" then break end
      H.sh("sleep 0.3")
    end
    assert.are.equal("OUT_OF_MEMORY", state, cluster:sh("scontrol show job -o " .. R[3].slurm_job))
  end)

  it("leaves nothing in the step's cgroup when the job is cancelled, so Slurm removes the job's cgroup", function()
    up()
    local list = tmp .. "/cancel.lua"
    H.write(list, ([[return { { name = "long", rootfs = %q, command = { "/bin/sleep", "120" } } }]])
      :format(S.abs(H.busybox)))
    local rcfile = tmp .. "/cancel.rc"
    H.sh(("(export %s; %s --slurm --slurm-dir %s/shared --slurm-opt=--job-name=sbxvmcancel --slurm-opt=--mem=96M --json %s/cancel.json %s "
      .. ">%s/cancel.out 2>&1; echo $? >%s) </dev/null >/dev/null 2>&1 &"):format(cluster.env, H.bin, tmp, tmp, list, tmp, rcfile))
    -- the jail's cgroup, from the kernel's tree: a child of a step's user/
    local mnt = H.core.cgroup_mountpoint()
    local jail
    for _ = 1, 300 do
      jail = H.sh("find " .. mnt .. "/system.slice -mindepth 5 -maxdepth 6 -type d -path '*/job_*/step_batch/user/*' "
        .. "! -name 'task_*' 2>/dev/null"):match("^(%S+)")
      if jail then break end
      H.sh("sleep 0.2")
    end
    assert.truthy(jail, cluster:sh("squeue"))
    local jobdir = jail:match("^(.*/job_%d+)/")
    -- the jail's processes are in it (cgroup.procs, the kernel's list)
    assert.truthy(H.read(jail .. "/cgroup.procs"):match("%d+"), jail)
    -- its ancestors hold the job's --mem (Slurm writes it in job_J and in
    -- the step's user/, the jail's parent)
    assert.are.equal("max\n", H.read(jail .. "/memory.max"))
    assert.are.equal(tostring(96 * 1024 * 1024) .. "\n", H.read(jobdir .. "/step_batch/user/memory.max"))
    assert.are.equal(tostring(96 * 1024 * 1024) .. "\n", H.read(jobdir .. "/memory.max"))
    local id = cluster:sh("squeue -h -n sbxvmcancel -o %i"):match("(%d+_%d+)")
    assert.truthy(id, cluster:sh("squeue"))
    cluster:sh("scancel " .. id)
    local rc
    for _ = 1, 150 do
      local f = io.open(rcfile)
      rc = f and f:read("a")
      if f then f:close() end
      if rc and rc ~= "" then break end
      H.sh("sleep 0.2")
    end
    assert.are.equal("1\n", rc, H.read(tmp .. "/cancel.out"))
    local R = json_of(tmp .. "/cancel.json")
    assert.are.equal("cancelled", R[1].status)
    -- Slurm removed job_J once its steps were empty: nothing of ours was left
    local gone = false
    for _ = 1, 100 do
      local f = io.open(jobdir .. "/cgroup.procs")
      if not f then gone = true break end
      f:close()
      H.sh("sleep 0.2")
    end
    assert.is_true(gone, jobdir .. " is still there: " .. H.sh("find " .. jobdir .. " -type d"))
  end)
end)
