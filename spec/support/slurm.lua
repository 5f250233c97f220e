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
local H = require "spec.support.helper"

local M = {}

local function have(prog)
  local _, rc = H.sh("command -v " .. prog .. " >/dev/null")
  return rc == 0
end

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

local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local s = f:read("a")
  f:close()
  return not s:match("^%d+ %b() Z") -- a zombie is gone for our purposes
end

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
  if not os.getenv("SBX_KEEP_SLURM") then os.execute("rm -rf " .. self.dir) end
end

-- start() -> cluster | nil, why
function M.start(opts)
  opts = opts or {}
  for _, p in ipairs { "munged", "mungekey", "slurmctld", "slurmd", "sbatch", "sinfo", "scontrol" } do
    if not have(p) then return nil, p .. " is not installed (make test-deps installs slurm-wlm and munge)" end
  end
  local dir = H.tmpdir()
  os.execute("chmod 700 " .. dir)
  local host = H.sh("hostname -s"):match("^(%S+)")
  local taken = {}
  local c = setmetatable({ dir = dir, host = host, pids = {}, partition = "sbx",
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
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_Core",
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
    "SlurmdTimeout=30",
    "SlurmctldDebug=info",
    "SlurmdDebug=info",
    ("NodeName=%s NodeAddr=127.0.0.1 CPUs=%d State=UNKNOWN"):format(host, opts.cpus or 2),
    ("PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP"):format(c.partition, host),
    "",
  }, "\n"))
  c.pids.slurmctld = spawn(("slurmctld -D -i -f %s"):format(c.conf), dir .. "/slurmctld.out")
  c.pids.slurmd = spawn(("%sslurmd -D -f %s -N %s"):format(c.env, c.conf, host), dir .. "/slurmd.out")
  -- the node answers once sinfo says it is idle
  local deadline = H.core.now() + (opts.timeout or 20)
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

return M
