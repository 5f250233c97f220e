-- cgsandbox.slurm: a job list run on a Slurm cluster.
--
-- The submit host writes each job's recipe as data (the recipe table
-- without its functions, cgsandbox.json) into a shared directory and
-- submits one array job (sbatch --array=0-N%P: Slurm throttles to
-- `parallel`).  Each task runs `sandboxlua --slurm-task DIR` on its node,
-- which compiles the recipe again (a rootfs or bind missing on the node is
-- that job's setup error), runs the jail and writes its result as JSON.
-- The host polls `scontrol show job -o` (no slurmdbd needed) and the
-- result files, and turns what Slurm did to a task (scancel, its time
-- limit, a node failure) into that job's result.
local json = require "cgsandbox.json"

local M = {}

-- exit status of a host that could not use the cluster (README)
M.EXIT_CLUSTER = 3

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  if not p then return "", false end
  local out = p:read("a") or ""
  local ok, _, code = p:close()
  return out, ok, code
end

local function exists(p) local f = io.open(p, "r") if f then f:close() return true end return false end

local files = require "cgsandbox.files"
local read, write = files.read, files.write_atomic

local function on_path(prog)
  if prog:find("/", 1, true) then return exists(prog) and prog or nil end
  for d in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    if exists(d .. "/" .. prog) then return d .. "/" .. prog end
  end
end

-- Recipes as data.  JSON has no table with both a list part and keys
-- ({ "bind", "/a", "/b", ro = true }): integer keys of such tables travel
-- as "\0<n>" (a recipe's own keys never hold a NUL).  Functions (hooks)
-- stay on the submit host.
function M.pack(v, seen)
  seen = seen or {}
  if type(v) == "function" or type(v) == "userdata" or type(v) == "thread" then return nil end
  if type(v) ~= "table" then return v end
  if seen[v] then error("slurm: a recipe with a cycle cannot travel", 0) end
  seen[v] = true
  local n, ints, other = rawlen(v), 0, false
  for k in next, v do
    if math.type(k) == "integer" then ints = ints + 1 else other = true end
  end
  local t = {}
  local list = not other and ints == n
  for k, x in next, v do
    local px = M.pack(x, seen)
    if px ~= nil then
      if math.type(k) == "integer" and not list then t["\0" .. k] = px else t[k] = px end
    end
  end
  seen[v] = nil
  return t
end

function M.unpack(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in next, v do
    local n = type(k) == "string" and math.tointeger(tonumber(k:match("^%z(%-?%d+)$")))
    t[n or k] = M.unpack(x)
  end
  return t
end

local function decode(s)
  local dk = require "dkjson"
  local v, _, err = dk.decode(s, 1, nil)
  if err then return nil, err end
  return M.unpack(v)
end
M.decode = decode

-- The Slurm step's cgroup on a cgroup-v2 node with task/cgroup (cgroup/v2
-- plugin): the task runs in .../job_J/step_S/user/task_T, a leaf Slurm
-- lists for its signals and accounting; its parent `user` is a domain with
-- the step's controllers enabled (Slurm wrote its subtree_control) and
-- the job's --mem as memory.max (job_J has it too).  Jails go there, next
-- to the task: the step's limits and accounting hold over them, and the
-- task keeps the host (Slurm still signals it).  text: /proc/self/cgroup;
-- nil when this is not such a step (v1, task/none, no Slurm).
function M.step_cgroup(text, mnt)
  local own = text:match("^0::(/[^\n]*)\n?$")
  local user = own and own:match("^(.*/job_%d+/step_[^/]+/user)/task_[^/]+$")
  return user and mnt .. user or nil
end

-- the parent a node's jails take: the step's cgroup, unless the recipe,
-- the compile options or $SANDBOXLUA_CGROUP name one
local function node_parent(sb, r, copts)
  if copts.cgroup_parent ~= nil or os.getenv("SANDBOXLUA_CGROUP") then return nil end
  if type(r) == "table" and type(r.cgroup) == "table" and (r.cgroup.parent ~= nil or r.cgroup.path ~= nil) then
    return nil
  end
  local ok, mnt = pcall(sb.core.cgroup_mountpoint)
  if not ok or not mnt then return nil end
  return M.step_cgroup(read("/proc/self/cgroup") or "", mnt)
end

-- the node's side: sandboxlua --slurm-task DIR (task from
-- $SLURM_ARRAY_TASK_ID, or DIR TASK)
function M.task(argv)
  local sb = require "cgsandbox"
  local host = require "cgsandbox.host"
  local dir, id = argv[1], argv[2] or os.getenv("SLURM_ARRAY_TASK_ID")
  if not dir or not id then
    io.stderr:write("sandboxlua: --slurm-task DIR: run by Slurm (needs $SLURM_ARRAY_TASK_ID)\n")
    return 2
  end
  local node = (read("/proc/sys/kernel/hostname") or "?"):gsub("%s+$", "")
  local slurm_job = (os.getenv("SLURM_ARRAY_JOB_ID") or "?") .. "_" .. id
  local src = read(("%s/job-%s.json"):format(dir, id))
  local job, derr
  if src then job, derr = decode(src) else derr = "no such file" end
  local res, plan
  local function setup_error(msg)
    return { status = "setup_error", step = "slurm", message = ("on node %s: %s"):format(node, msg), exit_code = 125 }
  end
  if not job then
    res = setup_error(("%s/job-%s.json: %s"):format(dir, id, derr))
  else
    local r = job.recipe
    local copts = job.compile or {}
    local step_cg = node_parent(sb, r, copts)
    if step_cg then copts.cgroup_parent = step_cg end
    local ok, p = pcall(sb.compile, r, copts)
    if not ok then
      res = setup_error(getmetatable(p) == sb.RecipeError and p.message or tostring(p))
    else
      -- a rootfs or bind missing on this node fails the jail's setup as
      -- it would on the submit host: the same step and errno, the node named
      plan = p
      plan.async_start = true -- as run_all starts a job: a setup error is its result
      sb.core.trap_signals()
      sb.on_signal = function(sig) sb.interrupt(sig, 1) end -- Slurm's KillWait follows
      res = sb.run_plan(r, plan)
      res.slurm_cgroup = step_cg
      if res.status == "setup_error" then res.message = ("on node %s: %s"):format(node, res.message or "setup failed") end
    end
  end
  -- Slurm signalled the task (scancel, its time limit): the command may
  -- have got the signal straight from slurmstepd before the jail's host
  -- passed it on; either way the submit host waits for Slurm's word on it
  local got = sb.core.signalled()
  if got and res.status ~= "setup_error" then
    res.status = "interrupted"
    res.interrupted_by = res.interrupted_by or ({ [1] = "SIGHUP", [2] = "SIGINT", [15] = "SIGTERM" })[got] or got
  end
  res.name = job and job.name or res.name
  res.node, res.slurm_job = node, slurm_job
  res.hook_errors = nil -- hooks run on the submit host
  local ok, werr = write(("%s/result-%s.json"):format(dir, id), json.encode(res))
  if not ok then
    io.stderr:write("sandboxlua: ", tostring(werr), "\n")
    return 125
  end
  local sig = sb.core.signalled()
  if sig then return 128 + sig end
  return host.exit_code_of(res)
end

-- scontrol show job -o ID: one line per task (pending ones share a line,
-- ArrayTaskId=4-9%2)
local function field(line, k) return line:match("%f[%w]" .. k .. "=(%S*)") end

local TERMINAL = { COMPLETED = true, FAILED = true, CANCELLED = true, TIMEOUT = true, NODE_FAIL = true,
                   PREEMPTED = true, BOOT_FAIL = true, DEADLINE = true, OUT_OF_MEMORY = true }

local function poll(jobid)
  local out, ok = sh("scontrol show job -o " .. jobid)
  if not ok then
    if out:find("Invalid job id", 1, true) then return {}, true end
    return nil, out
  end
  local tasks = {}
  for line in out:gmatch("[^\n]+") do
    -- "7", or tasks not split off yet: "1-5%2", "4,6-9"
    local spec = (field(line, "ArrayTaskId") or ""):gsub("%%%d+$", "")
    local st = { state = field(line, "JobState"), reason = field(line, "Reason"),
                 exit = field(line, "ExitCode"), limit = field(line, "TimeLimit"),
                 node = field(line, "BatchHost") or field(line, "NodeList"), id = field(line, "JobId") }
    for part in spec:gmatch("[^,]+") do
      local a, b = part:match("^(%d+)%-(%d+)$")
      a, b = tonumber(a or part), tonumber(b or part)
      if a and b then
        for t = math.tointeger(a), math.tointeger(b) do tasks[t] = st end
      end
    end
  end
  return tasks
end

local function tail(s, n)
  local lines = {}
  for l in (s or ""):gmatch("[^\n]+") do lines[#lines + 1] = l end
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

-- what Slurm said about a task, folded into the node's result (or in
-- place of one)
local function slurm_result(st, res, jobid, t, dir, sig, started)
  local sl_exit, sl_sig = (st.exit or ""):match("^(%d+):(%d+)$")
  sl_exit, sl_sig = tonumber(sl_exit), tonumber(sl_sig)
  local r = res or {}
  r.slurm_job = r.slurm_job or (jobid .. "_" .. t)
  r.slurm_state = st.state
  if st.reason and st.reason ~= "None" then r.slurm_reason = st.reason end
  if st.node and st.node ~= "" and st.node ~= "(null)" then r.node = r.node or st.node end
  local code = r.exit_code or (sl_sig and sl_sig > 0 and 128 + sl_sig) or sl_exit or 125
  local what = ("Slurm job %s_%d"):format(jobid, t)
  if sig then
    -- the host itself was interrupted and cancelled what it submitted
    if st.state == "PENDING" or (not res and not started) then
      return { status = "skipped", message = "not started: the host was interrupted", name = r.name,
               slurm_job = r.slurm_job, slurm_state = st.state }
    end
    r.status, r.interrupted_by = "interrupted", ({ [1] = "SIGHUP", [2] = "SIGINT", [15] = "SIGTERM" })[sig] or sig
    r.exit_code = code
    -- Slurm ended the task before its node wrote a result (scancel's
    -- signals reach the whole step at once)
    if not res then r.message = ("%s: %s before the node wrote its result"):format(what, st.state) end
    return r
  end
  if st.state == "TIMEOUT" or st.state == "DEADLINE" then
    r.status, r.timeout, r.interrupted_by, r.exit_code = "timeout", "slurm", nil, code
    r.message = ("%s: %s (its time limit %s reached; Reason=%s)"):format(what, st.state, st.limit or "?",
      st.reason or "?")
    return r
  end
  if st.state == "OUT_OF_MEMORY" then
    r.status, r.interrupted_by, r.exit_code = "oom", nil, code
    r.message = what .. ": OUT_OF_MEMORY (Slurm's memory limit)"
    return r
  end
  if st.state == "CANCELLED" or st.state == "NODE_FAIL" or st.state == "PREEMPTED" or st.state == "BOOT_FAIL" then
    r.status, r.interrupted_by, r.exit_code = "cancelled", nil, code
    r.message = ("%s: %s%s (Reason=%s)"):format(what, st.state,
      st.state == "CANCELLED" and " (scancel, or an administrator)" or "", st.reason or "?")
    return r
  end
  if res then return res end
  -- COMPLETED or FAILED without a result: the node never ran sandboxlua
  local out = read(("%s/slurm-%d.out"):format(dir, t))
  return { status = "setup_error", step = "slurm", exit_code = 125, slurm_job = r.slurm_job,
           slurm_state = st.state, node = r.node,
           message = ("%s: %s with ExitCode=%s and no result%s"):format(what, st.state, st.exit or "?",
             out and out ~= "" and (": " .. tail(out, 3)) or "") }
end

local function sandboxlua_path(so, core)
  if so.command then return so.command end
  local exe = sh("readlink /proc/" .. core.getpid() .. "/exe"):gsub("%s+$", "")
  if exe:match("/sandboxlua$") then return exe end
  return on_path("sandboxlua") or "sandboxlua"
end

-- run_all(list, plans, opts, hooks) -> results | nil, message, "slurm"
-- opts.slurm = { partition = P, options = { "--time=5", ... }, dir = shared
-- directory, command = sandboxlua on the nodes, keep = true, poll = seconds }
function M.run_all(list, plans, opts, sb)
  local core = sb.core
  local so = opts.slurm or {}
  if type(so) ~= "table" then error("run_all: slurm: expected a table of options", 3) end
  local n = #list
  if n == 0 then return {} end
  if not on_path("sbatch") then
    return nil, "slurm: sbatch not found on PATH (install Slurm's client commands, or run without --slurm)", "slurm"
  end
  local base = so.dir or os.getenv("SANDBOXLUA_SLURM_DIR")
  if not base then
    base = (core.getcwd and core.getcwd() or os.getenv("PWD") or ".") .. "/.sandboxlua-slurm"
  end
  local dir = ("%s/run-%d-%d"):format(base, core.getpid(), os.time())
  local _, mk = sh("mkdir -p " .. q(dir))
  if not mk then return nil, "slurm: cannot create the shared directory " .. dir, "slurm" end
  local copts = {}
  for k, v in pairs(opts.compile or {}) do if type(v) ~= "function" then copts[k] = v end end
  if opts.sample ~= nil then copts.sample = opts.sample end
  for i, r in ipairs(list) do
    local ok, err = write(("%s/job-%d.json"):format(dir, i - 1),
      json.encode { recipe = M.pack(r), name = plans[i].name, compile = copts, index = i })
    if not ok then return nil, "slurm: " .. tostring(err), "slurm" end
  end
  local script = dir .. "/task.sh"
  write(script, ("#!/bin/sh\nexec %s --slurm-task %s\n"):format(q(sandboxlua_path(so, core)), q(dir)))
  os.execute("chmod 755 " .. q(script))
  local parallel = opts.parallel or 4
  local args = { "sbatch", "--parsable", "--job-name=" .. q(so.name or "sandboxlua"),
                 ("--array=0-%d%%%d"):format(n - 1, parallel), "--output=" .. q(dir .. "/slurm-%a.out"),
                 "--chdir=" .. q(dir),
                 -- a task whose node died ends NODE_FAIL (a result), not
                 -- back in the queue behind a node that may never return
                 -- (--slurm-opt=--requeue says otherwise)
                 "--no-requeue" }
  if so.partition then args[#args + 1] = "--partition=" .. q(so.partition) end
  for _, o in ipairs(so.options or {}) do args[#args + 1] = q(o) end
  args[#args + 1] = q(script)
  local out, ok = sh(table.concat(args, " "))
  local jobid = ok and out:match("^%s*(%d+)")
  if not jobid then
    if not so.keep then os.execute("rm -rf " .. q(dir)) end
    local line = out:match("error: ([^\n]+)") or out:match("([^\n]+)") or "failed"
    return nil, "slurm: sbatch: " .. line, "slurm"
  end
  M.submitted = jobid
  local results, done, failed, started = {}, 0, 0, {}
  local poll_s = so.poll or 0.25
  local cancelled_for -- the signal the host got
  local function progress(running)
    if opts.on_progress then opts.on_progress(done, n, running, failed) end
  end
  local function record(i, r)
    r.name = r.name or plans[i].name
    results[i] = r
    done = done + 1
    if r.status ~= "exited" or r.exit_code ~= 0 then failed = failed + 1 end
    -- hooks stay on the submit host: they run as the results come back
    local rec = list[i]
    local hooks = { "on_exit" }
    if r.status == "timeout" or r.status == "oom" then table.insert(hooks, 1, "on_" .. r.status) end
    for _, hk in ipairs(hooks) do
      local fn = type(rec) == "table" and rawget(rec, hk)
      if type(fn) == "function" then
        local arg = hk == "on_exit" and r or { name = r.name, result = r, slurm_job = r.slurm_job }
        local okh, err = xpcall(fn, debug.traceback, arg)
        if not okh then
          r.hook_errors = r.hook_errors or {}
          r.hook_errors[#r.hook_errors + 1] = ("hook %s failed: %s"):format(hk, tostring(err))
          io.stderr:write("sandboxlua: ", r.hook_errors[#r.hook_errors], "\n")
        end
      end
    end
    if opts.on_result then opts.on_result(r, i) end
  end
  local gone_since, silent_since
  -- how long the controller may not answer before the jobs still out are
  -- given up (shorter once the host was interrupted: it wants to stop)
  local patience = so.patience or 120
  while done < n do
    local sig = core.signalled()
    if sig and not cancelled_for then
      cancelled_for = sig
      if sb.on_signal then sb.on_signal(sig) end -- the host's own bookkeeping (its exit status)
      sb.stopping = true
      sh("scancel " .. jobid)
    end
    local tasks, perr = poll(jobid)
    local running = 0
    if tasks then
      local none = next(tasks) == nil
      for t = 0, n - 1 do
        local i = t + 1
        if not results[i] then
          local st = tasks[t]
          local rfile = ("%s/result-%d.json"):format(dir, t)
          local res
          if exists(rfile) then res = decode(read(rfile) or "") end
          if st and st.state == "RUNNING" then
            running = running + 1
            if not started[i] then
              started[i] = true
              if opts.on_start then opts.on_start(i) end
            end
          end
          if st and TERMINAL[st.state] then
            record(i, slurm_result(st, res, jobid, t, dir, cancelled_for, started[i]))
          elseif res and not res.interrupted_by and not cancelled_for then
            -- the node is done with it: no need to wait for Slurm's word
            record(i, res)
          elseif not st and none then
            -- Slurm forgot the job (MinJobAge passed, or a restart)
            gone_since = gone_since or core.now()
            if res or core.now() - gone_since > 5 then
              record(i, res or { status = "cancelled", exit_code = 125, slurm_job = jobid .. "_" .. t,
                                 message = ("Slurm job %s_%d left the queue without a result"):format(jobid, t) })
            end
          end
        end
      end
    elseif perr then
      -- the controller did not answer this time: tell once, keep trying
      local why = perr:match("([^\n]+)") or "?"
      if not silent_since then
        silent_since = core.now()
        io.stderr:write("sandboxlua: slurm: scontrol: ", why, " (retrying)\n")
      end
      if core.now() - silent_since > (cancelled_for and 5 or patience) then
        for i = 1, n do
          if not results[i] then
            record(i, { status = cancelled_for and (started[i] and "interrupted" or "skipped") or "cancelled",
                        exit_code = 125, slurm_job = jobid .. "_" .. (i - 1),
                        message = ("the Slurm controller stopped answering (%s): job %s_%d given up, "
                          .. "it may still run"):format(why, jobid, i - 1) })
          end
        end
      end
    end
    if tasks then silent_since = nil end
    progress(running)
    if done < n then core.step(math.floor(poll_s * 1000)) end
  end
  if not so.keep then os.execute("rm -rf " .. q(dir)) end
  return results
end

return M
