-- A one-node Slurm cluster for the specs: munged, slurmctld -D and
-- slurmd -D from a config generated in a temporary directory, on loopback
-- ports, every path (key, socket, state, spool, logs, pid files) inside
-- that directory.  Nothing of the machine's own is read or written
-- (/etc/slurm, /etc/munge, /run/munge stay as they are), and every daemon
-- is stopped by the pid this helper started.
--
--   local C = require("spec.support.slurm").start()  -- nil, why when Slurm is missing
--   C.env   -- "SLURM_CONF=... " to put before a client command
--   C:stop()
--
-- start{ cgroup = true }: a cgroup-v2 node (the test VM, which has no
-- systemd): proctrack/cgroup and task/cgroup with cgroup.conf's
-- CgroupPlugin=cgroup/v2 and IgnoreSystemd=yes (slurmd makes its
-- system.slice/slurmstepd.scope itself, no dbus), memory as a consumable
-- resource (--mem becomes the job's and step's memory.max), slurmd in a
-- cgroup of its own below the root.
local H = require "spec.support.helper"

local M = {}

local have = H.have

-- a TCP port nobody listens on (loopback); two tries at random
local function free_port(taken)
  local used = H.sh("ss -Htln 2>/dev/null | awk '{print $4}'")
  math.randomseed(os.time() + H.core.getpid())
  for _ = 1, 200 do
    local p = math.random(20000, 40000)
    if not taken[p] and not used:find(":" .. p .. "\n", 1, true) then
      taken[p] = true
      return p
    end
  end
  error("no free port")
end

local write = H.write

-- start a program in the background with its output in log: its pid
local function spawn(cmd, log)
  local out = H.sh(("%s >%s 2>&1 </dev/null & echo $!"):format(cmd, log))
  return assert(math.tointeger(tonumber(out:match("(%d+)%s*$"))), out)
end

local alive = H.alive -- a zombie is gone for our purposes

local Cluster = {}
Cluster.__index = Cluster

-- a client command with this cluster's config
function Cluster:sh(cmd)
  return H.sh("export " .. self.env .. "; " .. cmd)
end

function Cluster:log(which)
  local f = io.open(self.dir .. "/" .. which .. ".log")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- cancel what is left, then stop slurmd, slurmctld and munged by pid
function Cluster:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pids.slurmctld and alive(self.pids.slurmctld) then
    self:sh("scancel --full -u root 2>/dev/null")
    for _ = 1, 30 do -- the jobs' steps end before their slurmd does
      local q = self:sh("squeue -h -o %i 2>/dev/null")
      if q:match("^%s*$") then break end
      H.sh("sleep 0.1")
    end
  end
  for _, name in ipairs { "slurmd", "slurmctld", "munged" } do
    local pid = self.pids[name]
    if pid and alive(pid) then
      H.sh("kill -TERM " .. pid)
      local gone = false
      for _ = 1, 50 do
        if not alive(pid) then gone = true break end
        H.sh("sleep 0.1")
      end
      if not gone then H.sh("kill -KILL " .. pid) end
    end
  end
  if self.slurmd_cgroup then H.sh("rmdir " .. self.slurmd_cgroup .. " 2>/dev/null") end
  if self.slice then -- the stepd scope and what slurmd left in it, deepest first
    H.sh("find " .. self.slice .. " -depth -type d -exec rmdir {} + 2>/dev/null")
  end
  if not os.getenv("SBX_KEEP_SLURM") then os.execute("rm -rf " .. self.dir) end
end

-- start() -> cluster | nil, why
function M.start(opts)
  opts = opts or {}
  for _, p in ipairs { "munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol" } do
    if not have(p) then return nil, p .. " is not installed (make test-deps installs slurm-wlm and munge)" end
  end
  -- slurmctld binds getaddrinfo(NULL, port, AI_ADDRCONFIG): with no IPv4
  -- address but 127.0.0.1 (the test VM: loopback only) that finds none and
  -- slurmctld dies ("Unable to resolve "(null)""); a machine like that is
  -- the VM, whose network is ours: give its loopback a second address
  local addrs = H.sh("ip -4 -o addr show 2>/dev/null"):gsub("inet 127%.0%.0%.1/", "")
  if not addrs:find("inet ", 1, true) then
    H.sh("ip addr add 10.254.254.1/32 dev lo 2>&1")
  end
  local dir = H.tmpdir()
  os.execute("chmod 700 " .. dir)
  local host = H.sh("hostname -s"):match("^(%S+)")
  local taken = {}
  local c = setmetatable({ dir = dir, host = host, pids = {}, partition = "sbx", cgroup = opts.cgroup,
                           ctld_port = free_port(taken), slurmd_port = free_port(taken) }, Cluster)
  c.conf = dir .. "/slurm.conf"
  c.env = ("SLURM_CONF=%s "):format(c.conf)
  for _, d in ipairs { "state", "spool", "munge" } do os.execute(("mkdir -m 700 %s/%s"):format(dir, d)) end
  local m = dir .. "/munge"
  local _, krc = H.sh(("mungekey -c -b 1024 -k %s/munge.key"):format(m))
  if krc ~= 0 then
    H.sh(("dd if=/dev/urandom of=%s/munge.key bs=128 count=1 2>/dev/null && chmod 400 %s/munge.key"):format(m, m))
  end
  c.socket = m .. "/munge.socket"
  c.pids.munged = spawn(("munged -F -f -S %s --key-file=%s/munge.key --pid-file=%s/munged.pid "
    .. "--log-file=%s/munged.log --seed-file=%s/munged.seed"):format(c.socket, m, m, dir, m), dir .. "/munged.out")
  for _ = 1, 50 do
    if io.open(c.socket) or H.sh("test -S " .. c.socket .. " && echo y"):find("y") then break end
    H.sh("sleep 0.1")
  end
  local cg = opts.cgroup
  if cg then
    write(dir .. "/cgroup.conf", table.concat({
      "CgroupPlugin=cgroup/v2",
      -- without systemd (the VM) slurmd makes its scope itself; with
      -- systemd it asks it over dbus for one, as on a real node
      H.sh("test -d /run/systemd/system && echo y"):find("y") and "IgnoreSystemd=no" or "IgnoreSystemd=yes",
      "CgroupAutomount=yes",
      "ConstrainCores=no",
      "ConstrainRAMSpace=yes",
      "AllowedRAMSpace=100",
      "ConstrainDevices=no",
      "",
    }, "\n"))
  end
  if opts.oci then
    -- srun --container: slurmstepd reads oci.conf next to slurm.conf
    c.oci_root = dir .. "/oci"
    os.execute("mkdir -m 700 " .. c.oci_root)
    write(dir .. "/oci.conf", opts.oci(c))
  end
  write(c.conf, table.concat({
    "ClusterName=sbxspec",
    ("SlurmctldHost=%s(127.0.0.1)"):format(host),
    "SlurmctldPort=" .. c.ctld_port,
    "SlurmdPort=" .. c.slurmd_port,
    "AuthType=auth/munge",
    "CredType=cred/munge",
    "AuthInfo=socket=" .. c.socket,
    "SlurmUser=root",
    "SlurmdUser=root",
    "StateSaveLocation=" .. dir .. "/state",
    "SlurmdSpoolDir=" .. dir .. "/spool",
    "SlurmctldPidFile=" .. dir .. "/slurmctld.pid",
    "SlurmdPidFile=" .. dir .. "/slurmd.pid",
    "SlurmctldLogFile=" .. dir .. "/slurmctld.log",
    "SlurmdLogFile=" .. dir .. "/slurmd.log",
    cg and "ProctrackType=proctrack/cgroup" or "ProctrackType=proctrack/linuxproc",
    cg and "TaskPlugin=task/cgroup" or "TaskPlugin=task/none",
    "SelectType=select/cons_tres",
    cg and "SelectTypeParameters=CR_Core_Memory" or "SelectTypeParameters=CR_Core",
    "DefMemPerCPU=" .. (cg and (opts.mem_per_cpu or 256) or 0),
    "SchedulerType=sched/backfill",
    "SchedulerParameters=sched_min_interval=100000,batch_sched_delay=0",
    "AccountingStorageType=accounting_storage/none",
    "JobAcctGatherType=jobacct_gather/none",
    "JobCompType=jobcomp/none",
    "MpiDefault=none",
    "ReturnToService=2",
    "MaxArraySize=1001",
    "KillWait=3",
    "OverTimeLimit=0",
    "MinJobAge=600",
    "InactiveLimit=0",
    "MessageTimeout=5",
    "SlurmctldTimeout=30",
    "SlurmdTimeout=" .. (opts.slurmd_timeout or 30),
    "SlurmctldDebug=info",
    "SlurmdDebug=info",
    ("NodeName=%s NodeAddr=127.0.0.1 CPUs=%d%s State=UNKNOWN"):format(host, opts.cpus or 2,
      cg and (" RealMemory=%d"):format(opts.memory or 1024) or ""),
    ("PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP"):format(c.partition, host),
    "",
  }, "\n"))
  c.pids.slurmctld = spawn(("slurmctld -D -i -f %s"):format(c.conf), dir .. "/slurmctld.out")
  c:start_slurmd()
  -- the node answers once sinfo says it is idle
  return c:wait_idle(opts.timeout or 20)
end

-- slurmd again (after it was killed): a node back from the dead
function Cluster:start_slurmd()
  local c, host, cg = self, self.host, self.cgroup
  local slurmd = ("slurmd -D -f %s -N %s"):format(c.conf, host)
  if cg then
    -- slurmd reads its own cgroup from /proc/self/cgroup: one of its own
    -- (the VM's command runs in the root), removed when it is stopped
    local mnt = H.core.cgroup_mountpoint()
    c.slurmd_cgroup = ("%s/sbx-slurmd-%d"):format(mnt, H.core.getpid())
    os.execute("mkdir -p " .. c.slurmd_cgroup)
    -- with IgnoreSystemd slurmd makes system.slice/NODE_slurmstepd.scope
    -- by mkdir, in a system.slice systemd would have made
    -- (with systemd, system.slice is systemd's: left alone)
    if not H.sh("test -d /run/systemd/system && echo y"):find("y") then
      if H.sh("test -d " .. mnt .. "/system.slice || { mkdir " .. mnt .. "/system.slice && echo made; }"):find("made") then
        c.slice = mnt .. "/system.slice"
      end
      -- and hands the root's controllers on to its children, as systemd
      -- does for a slice (slurmd enables them below, in the scope, itself)
      local ctl = H.read(mnt .. "/cgroup.subtree_control"):gsub("%s+$", "")
      for name in ctl:gmatch("%S+") do H.write(mnt .. "/system.slice/cgroup.subtree_control", "+" .. name) end
    end
    slurmd = ("sh -c 'echo $$ > %s/cgroup.procs && exec %s'"):format(c.slurmd_cgroup, slurmd)
  end
  slurmd = c.env .. slurmd
  c.pids.slurmd = spawn(slurmd, c.dir .. "/slurmd.out")
end

-- self, once the node is idle | nil, why (the cluster stopped)
function Cluster:wait_idle(secs)
  local c, dir = self, self.dir
  local deadline = H.core.now() + secs
  while H.core.now() < deadline do
    local s = c:sh("sinfo -h -N -o %T 2>/dev/null")
    if s:match("^idle") then return c end
    for name, pid in pairs(c.pids) do
      if not alive(pid) then
        local why = ("%s (pid %d) exited: %s%s"):format(name, pid, c:log(name):sub(-600),
          H.read(dir .. "/" .. name .. ".out"):sub(-600))
        c:stop()
        return nil, why
      end
    end
    H.sh("sleep 0.2")
  end
  local why = "the node never became idle: " .. c:sh("sinfo -N 2>&1") .. c:log("slurmctld"):sub(-800)
    .. c:log("slurmd"):sub(-800)
  c:stop()
  return nil, why
end

-- oci.conf for srun --container with sandboxlua's OCI runtime (runc's
-- arguments): RunTimeRun does create + start + wait + delete and exits
-- with the command's status; Query/Kill/Delete are what slurmstepd calls
-- on the way out (state of a container run already deleted: a line in
-- slurmd's log, "JSON parsing error", as with runc)
function M.oci_conf(c)
  local rt = ("%s --root %s"):format(M.abs(H.build) .. "/sandboxlua-oci", c.oci_root)
  local id = "%n.%u.%j.%s.%t"
  return table.concat({
    ('RunTimeQuery="%s state %s"'):format(rt, id),
    ('RunTimeKill="%s kill --all %s KILL"'):format(rt, id),
    ('RunTimeDelete="%s delete --force %s"'):format(rt, id),
    ('RunTimeRun="%s run --bundle %%b %s"'):format(rt, id),
    "" }, "\n")
end

-- The comparison list of the specs: 20 jobs (passes, failures, signals, a
-- wall-clock timeout, setup errors, captured output, stdin, mounts, jobs
-- computed on the submit host); with oom = true (a cgroup-v2 node: the
-- VM) one of them is a memory hog over its memory.max in place of a
-- SIGUSR1.  Its arguments: a file the on_exit hooks append to, and the
-- directory of the spec payloads (build/spec, the hog).
M.LIST = [[
local bb, oom = %q, %s
local marks, payloads = ...
local function j(name, cmd, extra)
  local r = { name = name, rootfs = bb, command = { "/bin/sh", "-c", cmd },
              stdio = { stdout = "capture", stderr = "capture" },
              on_exit = function(r) local f = io.open(marks, "a") f:write(r.name, " ", r.status, "\n") f:close() end }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end
local jobs = {
  j("hello", "echo hello; echo to-stderr >&2"),
  j("exit1", "exit 1"),
  j("exit3", "echo three; exit 3"),
  j("exit42", "exit 42"),
  j("kill9", "kill -9 $$"),
  j("term", "kill -TERM $$"),
  j("segv", "kill -SEGV $$"),
  j("wall", "sleep 5", { limits = { wall = "0.5s" } }), -- (output before it: a race with the clock)
  j("env", "echo $GREETING", { env = { PATH = "/bin", GREETING = "hi from env" } }),
  j("stdin", "cat", { stdio = { stdin = { data = "piped in\n" }, stdout = "capture" } }),
  j("mounts", "test -r /mnt/hosts && echo x > /scratch/f && cat /scratch/f",
    { mounts = { { "bind", "/etc", "/mnt", ro = true }, { "tmpfs", "/scratch" } } }),
  j("lines", "seq 1 3000; seq 1 5 >&2"),
  j("notfound", "/no/such/program"),
  j("nobind", "true", { mounts = { { "bind", "/nonexistent-sbx-slurm", "/mnt", ro = true } } }),
  j("norootfs", "true", { rootfs = "/nonexistent-sbx-rootfs" }),
  j("limited", "echo limited", { limits = { memory = "64M", pids = 16, optional = true } }),
  oom and j("oom", "/mnt/hog mem 200", { limits = { memory = "32M" },
    mounts = { { "bind", payloads, "/mnt", ro = true } } }) or j("usr1", "kill -USR1 $$"),
  j("true", "true"),
}
-- computed on the submit host: the nodes get the same jobs
for i = 1, 2 do jobs[#jobs + 1] = j("computed" .. i, "echo computed " .. i * 7) end
return { parallel = 4, jobs = jobs }
]]

-- a path as the nodes see it: absolute (the tasks run in the shared
-- directory; the VM's specs run with SBX_ROOT unset, H.root ".")
function M.abs(p)
  if p:sub(1, 1) == "/" then return p end
  return (H.sh("pwd -P"):gsub("%s+$", "")) .. "/" .. p:gsub("^%./", "")
end

function M.list(busybox, oom)
  return M.LIST:format(M.abs(busybox), tostring(oom or false))
end

-- a JSON results file (raises when there is none)
function M.json_of(path)
  local v = require("dkjson").decode(H.read(path))
  assert(type(v) == "table", "no JSON in " .. path)
  return v
end

-- a JUnit report's counts, as its testsuite element says them
function M.junit_counts(xml)
  return H.read(xml):match('<testsuite [^>]-(tests="%d+" failures="%d+" errors="%d+" skipped="%d+")')
end

-- a file's lines, sorted (what hooks marked, in whatever order jobs ended)
function M.sorted_lines(f)
  local t = {}
  for l in H.read(f):gmatch("[^\n]+") do t[#t + 1] = l end
  table.sort(t)
  return t
end

-- where the Slurm run's results R differ from the local run's L: the
-- fields keys of each, and the node (every job ran on node); a list of
-- "job: field" lines, empty when they agree
function M.differences(L, R, keys, node)
  local d = {}
  for i = 1, math.max(#L, #R) do
    local l, r = L[i] or {}, R[i] or {}
    for _, k in ipairs(keys) do
      if l[k] ~= r[k] then
        d[#d + 1] = ("%s: %s: %s vs %s"):format(tostring(l.name), k, tostring(l[k]), tostring(r[k]))
      end
    end
    if r.node ~= node then d[#d + 1] = ("%s: node %s"):format(tostring(l.name), tostring(r.node)) end
  end
  return d
end

-- the job list run twice, locally and through --slurm on cluster (more:
-- flags for the Slurm run), with JSON and JUnit under tmp and the hooks'
-- marks in marks.local / marks.slurm: { lout, lrc, sout, src, L, R }
function M.run_both(cluster, tmp, list, marks, payloads, more)
  local r = {}
  r.lout, r.lrc = H.sh(("%s -q --json %s/local.json --junit %s/local.xml %s -- %s.local %s")
    :format(H.bin, tmp, tmp, list, marks, payloads))
  r.sout, r.src = cluster:sh(("%s -q --slurm --slurm-dir %s/shared %s--json %s/slurm.json --junit %s/slurm.xml %s -- %s.slurm %s")
    :format(H.bin, tmp, more and (more .. " ") or "", tmp, tmp, list, marks, payloads))
  r.L, r.R = M.json_of(tmp .. "/local.json"), M.json_of(tmp .. "/slurm.json")
  return r
end

-- the JUnit testcases of a report: names, failure/error elements with
-- their type, and the captured output (to compare a local run's with
-- Slurm's)
function M.junit_cases(xml)
  local t = {}
  for attrs, body in H.read(xml):gmatch("<testcase (.-)>(.-)</testcase>") do
    local kind, ty = body:match("^<(%a+) message=\"[^\"]*\" type=\"([%w_]+)\"")
    t[#t + 1] = { name = attrs:match('name="([^"]*)"'), kind = kind, type = ty,
                  out = body:match("<system%-out>(.-)</system%-out>") }
  end
  return t
end

return M
