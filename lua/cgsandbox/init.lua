-- cgsandbox: run commands in jails from Lua.
--
--   local sb = require "cgsandbox"
--   local r = sb.run { command = { "/bin/echo", "hi" }, limits = { memory = "64M" } }
--
-- Recipes are validated and compiled in pure Lua (cgsandbox.recipe); the C
-- core (cgsandbox.core) spawns and supervises.  Misuse raises; OS failures
-- return nil, message, errno name.
local core = require "cgsandbox.core"
local recipe = require "cgsandbox.recipe"
local units = require "cgsandbox.units"
local json = require "cgsandbox.json"

local M = { version = core.version, core = core, units = units, recipe = recipe }
M.RecipeError = recipe.RecipeError

local cap_names
local function compile_opts(extra)
  cap_names = cap_names or core.cap_names()
  local o = {
    cap_names = cap_names,
    seccomp_check = function(s)
      local ok, msg = core.seccomp_check(s)
      return ok, msg
    end,
    getuid = core.getuid, getgid = core.getgid,
  }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- validate and compile without spawning anything (raises RecipeError)
function M.compile(r, opts)
  return recipe.compile(r, compile_opts(opts))
end

-- live handles by their C jail, for event dispatch
local handles = setmetatable({}, { __mode = "k" })
local Handle = {}
Handle.__index = Handle

local function hook(h, name, arg)
  local fn = h.recipe[name]
  if not fn then return end
  local ok, err = xpcall(fn, debug.traceback, arg)
  if not ok then
    local msg = ("hook %s failed: %s"):format(name, tostring(err))
    h.hook_errors[#h.hook_errors + 1] = msg
    io.stderr:write("sandboxlua: ", msg, "\n")
  end
end

local SIGNAMES = { [1] = "SIGHUP", [2] = "SIGINT", [15] = "SIGTERM" }

local function finish(h)
  local r = h.jail:result()
  r.name = h.name
  if h.interrupted and r.status ~= "setup_error" then
    -- the host was told to stop while this ran: the kernel's own story
    -- (exit_code, signal) stays next to it
    r.status = "interrupted"
    r.interrupted_by = SIGNAMES[h.interrupted] or h.interrupted
  end
  r.pooled = h.pooled
  if #h.hook_errors > 0 then r.hook_errors = h.hook_errors end
  h.result = r
  h.jail:close()
  hook(h, "on_exit", r)
  if #h.hook_errors > 0 then r.hook_errors = h.hook_errors end
  handles[h.jail] = nil
end

local waiting = {} -- coroutine -> handle it waits for (sb.loop)

-- handles with a watch (h:watch, on_sample): due ones are called before
-- the supervisor waits, and the wait ends when the next one is due
local watched = setmetatable({}, { __mode = "k" })
local function run_watches(now)
  local nxt
  for h in pairs(watched) do
    if h.result or h.closed then
      watched[h] = nil
    else
      if now >= h.watch_next then
        h.watch_next = now + h.watch_every
        local st = h.jail:stats()
        if st then
          local ok, err = xpcall(h.watch_fn, debug.traceback, h, st)
          if not ok then
            local msg = ("watch failed: %s"):format(tostring(err))
            h.hook_errors[#h.hook_errors + 1] = msg
            io.stderr:write("sandboxlua: ", msg, "\n")
            watched[h] = nil
          end
        end
      end
      if watched[h] and (not nxt or h.watch_next < nxt) then nxt = h.watch_next end
    end
  end
  return nxt
end

-- after M.interrupt: when the jails still running are killed
local kill_deadline

-- process what the kernel reported; timeout_ms nil = block until something
local function pump(timeout_ms)
  if next(watched) then
    local now = core.now()
    local due = run_watches(now)
    if due then
      local left = math.max(0, math.ceil((due - now) * 1000))
      if not timeout_ms or left < timeout_ms then timeout_ms = left end
    end
  end
  if kill_deadline then
    local left = math.max(0, math.ceil((kill_deadline - core.now()) * 1000))
    if not timeout_ms or left < timeout_ms then timeout_ms = left end
  end
  local evs, err, code = core.step(timeout_ms)
  if not evs then return nil, err, code end
  if kill_deadline and core.now() >= kill_deadline then
    kill_deadline = nil
    core.kill_all()
  end
  for _, e in ipairs(evs) do
    local h = handles[e[1]]
    if h then
      if e[2] == "exit" then finish(h)
      elseif e[2] == "oom" then hook(h, "on_oom", h)
      elseif e[2] == "timeout" then hook(h, "on_timeout", h) end
    end
  end
  if M.on_signal then
    local sig = core.signalled()
    if sig then M.on_signal(sig) end
  end
  return true
end
M.pump = pump

-- interrupt(sig, grace_s): what a host does when it is asked to stop
-- (SIGINT, SIGTERM, SIGHUP): no new jail starts (M.stopping), every
-- running command gets sig (through its init), and after grace_s
-- (default 5) every jail still running is killed with its cgroup.  Their
-- results say status = "interrupted"; run_all's jobs that never started
-- say "skipped".
function M.interrupt(sig, grace)
  if math.type(sig) ~= "integer" then error("interrupt: expected a signal number", 2) end
  if grace ~= nil and (type(grace) ~= "number" or grace < 0) then
    error("interrupt: grace: expected seconds >= 0", 2)
  end
  M.stopping = true
  for _, h in pairs(handles) do
    if not h.result and not h.interrupted then
      h.interrupted = sig
      h.jail:kill(sig)
    end
  end
  local t = core.now() + (grace or 5)
  if not kill_deadline or t < kill_deadline then kill_deadline = t end
end

-- compile_all(recipes, opts) -> plans; a bad recipe raises a RecipeError
-- whose path names the job ("jobs[3].limits.memory: ...")
function M.compile_all(list, opts)
  local plans = {}
  for i, r in ipairs(list) do
    local ok, plan = pcall(M.compile, r, opts)
    if not ok then
      if getmetatable(plan) == recipe.RecipeError then
        plan.message = plan.message:gsub("^recipe", ("jobs[%d]"):format(i))
      end
      error(plan, 0)
    end
    plans[i] = plan
  end
  return plans
end

-- the recipe's on_sample hook: a watch at its sample interval
local function watch_hook(h, plan_ms)
  local fn = h.recipe.on_sample
  if fn and plan_ms then h:watch(plan_ms / 1000, fn) end
end

local function start(r, plan)
  local jail, msg, errno, res = core.spawn(plan)
  if not jail then
    res.name = plan.name
    return nil, msg, errno, res
  end
  local h = setmetatable({ jail = jail, recipe = r, name = plan.name, hook_errors = {},
                           started = core.now() }, Handle)
  handles[jail] = h
  hook(h, "on_start", h)
  watch_hook(h, plan.sample_ms)
  return h
end

-- spawn(recipe, compile_opts) -> handle | nil, message, errno, result
function M.spawn(r, opts)
  return start(r, M.compile(r, opts))
end

local function check(h)
  if getmetatable(h) ~= Handle then error("expected a jail handle", 3) end
  if h.closed then error("attempt to use a closed jail handle", 3) end
  return h
end

function Handle:pid()
  check(self)
  if self.result then return nil, "pid: the jail has exited", "ESRCH" end
  return self.jail:pid()
end

-- wait() -> result, once the jail is gone (no process, no cgroup leaf;
-- a pool's jail goes in the background: pool:close() waits for it).
-- Inside sb.loop() it yields so other jails progress (sb.loop returns
-- once every jail is gone).
function Handle:wait()
  check(self)
  local co, main = coroutine.running()
  local in_loop = not main and waiting[co] ~= nil
  while not self.result do
    if in_loop then
      waiting[co] = self
      coroutine.yield()
    else
      local ok, err, code = pump(nil)
      if not ok then return nil, err, code end
    end
  end
  if not in_loop and not self.pooled then core.settle() end
  return self.result
end

-- the command's pid (as this host sees it), once it runs
function Handle:command_pid()
  check(self)
  if self.result then return nil, "command_pid: the jail has exited", "ESRCH" end
  return self.jail:command_pid()
end

function Handle:kill(sig)
  check(self)
  if self.result then return true end
  return self.jail:kill(sig)
end

function Handle:stats()
  check(self)
  if self.result then return nil, "stats: the jail has exited", "ESRCH" end
  return self.jail:stats()
end

-- watch(interval, fn): fn(handle, stats) every interval while the jail
-- runs, stats as h:stats() gives them (the result's cgroup fields so far);
-- watch(nil) stops.  Called from the loop that waits (wait, sb.loop,
-- run_all): an error in fn stops the watch and lands in hook_errors.
function Handle:watch(every, fn)
  check(self)
  if every == nil then
    watched[self] = nil
    return true
  end
  local s = units.duration(every)
  if not s or s < 0.01 then error("watch: expected an interval of at least 10ms (e.g. \"1s\")", 2) end
  if type(fn) ~= "function" then error("watch: expected a function(handle, stats)", 2) end
  if self.result then return nil, "watch: the jail has exited", "ESRCH" end
  self.watch_fn, self.watch_every, self.watch_next = fn, s, core.now() + s
  watched[self] = true
  return true
end

-- write_limits(target, writes) -> true | nil, msg, errno, file: the
-- cgroup writes of a limits table (recipe.compile_cgroup_limits) on a live
-- cgroup, a jail's or a container's (target: get, enable, set, as a jail
-- and a core cgroup have them); a controller the cgroup lacks is enabled
-- in its parent first.  The cgroup's controllers are read once (nil:
-- unreadable, then nothing is enabled and the write says what is wrong).
function M.write_limits(target, writes)
  local present = target:get("cgroup.controllers")
  local has = {}
  for c in (present or ""):gmatch("%S+") do has[c] = true end
  for _, w in ipairs(writes) do
    local ctl = w[1]:match("^(%l+)%.")
    if present and ctl and recipe.CONTROLLERS[ctl] and not has[ctl] then
      local ok, msg, errno = target:enable(ctl)
      if not ok then return nil, msg, errno, w[1] end
      has[ctl] = true
    end
    local ok, msg, errno = target:set(w[1], w[2])
    if not ok then return nil, msg, errno, w[1] end
  end
  return true
end

-- set_limit("memory_high", "100M") or set_limit{ cpu = 0.5, cpu_period =
-- "50ms" }: any cgroup limit of a recipe, checked as a recipe's, written to
-- the live cgroup (its controller enabled first when the jail was started
-- without it).  Misuse raises; the kernel's refusal returns nil, msg, errno.
function Handle:set_limit(name, value)
  check(self)
  local t = name
  if type(name) ~= "table" then
    if type(name) ~= "string" then error("set_limit: expected a limit name or a table of limits", 2) end
    t = { [name] = value }
  end
  local ok, writes = pcall(recipe.compile_cgroup_limits, t, "set_limit")
  if not ok then
    error(getmetatable(writes) == recipe.RecipeError and writes.message or writes, 2)
  end
  if self.result then return nil, "set_limit: the jail has exited", "ESRCH" end
  local okw, msg, errno = M.write_limits(self.jail, writes)
  if not okw then return nil, "set_limit: " .. msg, errno end
  return true
end

function Handle:get(file)
  check(self)
  return self.jail:get(file)
end

function Handle:freeze()
  check(self)
  return self.jail:freeze(true)
end

function Handle:thaw()
  check(self)
  return self.jail:freeze(false)
end

function Handle:cgroup()
  check(self)
  return self.result and self.result.cgroup or self.jail:cgroup()
end

-- close(): kill if still running, reap, remove the cgroup; every other
-- method raises afterwards, as a closed file's do (close again is fine)
function Handle:close()
  if getmetatable(self) ~= Handle then error("expected a jail handle", 2) end
  if self.closed then return end
  if not self.result then
    self.jail:kill("KILL")
    self:wait()
  end
  self.closed = true
end
Handle.__close = Handle.close

-- run(recipe) -> result (setup errors come back as status "setup_error")
function M.run(r, opts)
  return M.run_plan(r, M.compile(r, opts))
end

-- run_plan(recipe, plan): run a plan sb.compile made of that recipe (the
-- recipe still brings the hooks) without compiling it again
function M.run_plan(r, plan)
  if type(r) ~= "table" or getmetatable(plan) ~= recipe.Plan then
    error("run_plan: expected (recipe, plan), the plan from sb.compile(recipe)", 2)
  end
  local h, _, _, res = start(r, plan)
  if not h then return res end
  return h:wait()
end

-- Coroutines: sb.go(fn) starts one; sb.loop() drives them all, blocking
-- in the kernel only when every coroutine waits for a jail.
local ready = {}
function M.go(fn, ...)
  local co = coroutine.create(fn)
  ready[#ready + 1] = { co, table.pack(...) }
  return co
end

function M.loop()
  while true do
    while #ready > 0 do
      local t = table.remove(ready, 1)
      local co = t[1]
      waiting[co] = false
      local ok, err = coroutine.resume(co, table.unpack(t[2], 1, t[2].n))
      if not ok then
        waiting[co] = nil
        error(debug.traceback(co, err), 0)
      end
      if coroutine.status(co) == "dead" then waiting[co] = nil end
    end
    local any = false
    for co, h in pairs(waiting) do
      if h then
        any = true
        if h.result then
          waiting[co] = nil
          ready[#ready + 1] = { co, { n = 0 } }
        end
      end
    end
    if #ready == 0 then
      if not any then
        core.settle()
        return true
      end
      local ok, err, code = pump(nil)
      if not ok then return nil, err, code end
    end
  end
end

-- Warm pools.  sb.pool(recipe, { size = N }) keeps N jails built up to
-- the command's exec (namespaces, the cgroup leaf with its limits, mounts,
-- pivot_root): each takes one job, and a fresh one is built in the
-- background as soon as it is taken.  A job never sees what another job
-- left: every job gets a jail of its own.
local Pool = {}
Pool.__index = Pool

-- the process part of a plan: what a pool's job brings
local JOB_PART = { argv = true, env = true, cwd = true, stdio = true, wall_ms = true,
                   sample_ms = true, sample_max = true,
                   cpu_time_us = true, output_limit = true, name = true, async_start = true,
                   park = true }

local function new_pool(r, plan, size, copts)
  local park = {}
  for k, v in pairs(plan) do park[k] = v end
  park.park, park.async_start = true, true
  park.argv, park.env, park.stdio = nil, nil, nil
  local p = setmetatable({ recipe = r, plan = park, size = size, warming = {}, compile = copts,
                           closed = false }, Pool)
  for _ = 1, size do
    local ok, msg, errno, res = p:_spawn()
    if not ok then
      p:close()
      return nil, msg, errno, res
    end
  end
  return p
end

-- pool(recipe, { size = N, compile = compile_opts }) -> pool | nil, msg,
-- errno, result (the recipe cannot be built: the first jail's setup error)
function M.pool(r, opts)
  if type(r) ~= "table" then error("pool: expected a recipe table", 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("pool: expected options { size = N }", 2) end
  local size = opts.size == nil and 1 or opts.size
  if math.type(size) ~= "integer" or size < 1 or size > 4096 then
    error("pool: size: expected an integer from 1 to 4096", 2)
  end
  if r.tty then error("pool: a console (tty = true) is not pooled", 2) end
  local base = {}
  for k, v in pairs(r) do base[k] = v end
  base.command = base.command or { "/bin/true" } -- the jobs bring theirs
  local p, msg, errno, res = new_pool(r, M.compile(base, opts.compile), size, opts.compile)
  if not p then return nil, msg, errno, res end
  -- the first jail to be ready says whether the recipe can be built
  local jail, failed = p:_take()
  if not jail then
    p:close()
    return nil, failed.message, failed.errno, failed
  end
  p.ready = jail
  return p
end

function Pool:_spawn()
  local jail, msg, errno, res = core.spawn(self.plan)
  if not jail then return nil, msg, errno, res end
  self.warming[jail] = true
  return jail
end

-- the next parked jail, waiting for one; nil, result when one failed to
-- set up (it is replaced)
function Pool:_take()
  if self.ready then
    local j = self.ready
    self.ready = nil
    return j
  end
  while true do
    for jail in pairs(self.warming) do
      if jail:done() then
        self.warming[jail] = nil
        local res = jail:result()
        jail:close()
        self:_spawn()
        return nil, res
      elseif jail:parked() then
        self.warming[jail] = nil
        return jail
      end
    end
    if next(self.warming) == nil then
      local ok, msg, errno, res = self:_spawn()
      if not ok then return nil, res or { status = "setup_error", message = msg, errno = errno, exit_code = 125 } end
    end
    local ok, err, code = pump(nil)
    if not ok then
      return nil, { status = "setup_error", step = "supervisor", message = err, errno = code, exit_code = 125 }
    end
  end
end

-- the job's process part (argv, env, cwd, stdio, wall/cpu_time/output) in
-- a parked jail; a replacement is built at once
function Pool:_start(job, jp)
  if self.closed then error("pool: the pool is closed", 3) end
  local jail, failed = self:_take()
  -- the replacement is built while the job runs; a known number of jobs
  -- left (run_all) needs no spare jails
  if self.remaining then self.remaining = self.remaining - 1 end
  local function replace()
    local spare = 0
    for _ in pairs(self.warming) do spare = spare + 1 end
    if not self.remaining or self.remaining > spare then self:_spawn() end
  end
  if not jail then
    replace()
    failed.name = jp.name
    return nil, failed.message, failed.errno, failed
  end
  local part = { async_start = true }
  for k in pairs(JOB_PART) do if jp[k] ~= nil and k ~= "park" then part[k] = jp[k] end end
  part.async_start = true
  if part.sample_ms == nil then part.sample_ms, part.sample_max = self.plan.sample_ms, self.plan.sample_max end
  local ok, msg, errno = jail:start(part)
  replace()
  if not ok then
    jail:close()
    return nil, msg, errno, { status = "setup_error", step = "start", message = msg, errno = errno,
                              exit_code = 125, name = jp.name }
  end
  local h = setmetatable({ jail = jail, recipe = job, name = jp.name, hook_errors = {},
                           started = core.now(), pooled = true }, Handle)
  handles[jail] = h
  hook(h, "on_start", h)
  watch_hook(h, part.sample_ms)
  return h
end

-- pool:start(job) -> handle | nil, msg, errno, result
function Pool:start(job)
  if getmetatable(self) ~= Pool then error("expected a pool", 2) end
  return self:_start(job, recipe.compile_job(job, compile_opts(self.compile)))
end

-- pool:run(job) -> result, as sb.run's
function Pool:run(job)
  local h, _, _, res = self:start(job)
  if not h then return res end
  return h:wait()
end

-- close(): the parked and warming jails are killed and removed
function Pool:close()
  if self.closed then return end
  self.closed = true
  if self.ready then self.ready:close() self.ready = nil end
  for jail in pairs(self.warming) do jail:close() end
  self.warming = {}
  core.settle()
end
Pool.__close = Pool.close
Pool.__gc = Pool.close
M.Pool = Pool

-- jobs that differ only in their process part can share a pool
local function jail_key(plan)
  local t = {}
  for k, v in pairs(plan) do if not JOB_PART[k] then t[k] = v end end
  return json.encode(t)
end

-- run_all(recipes, { parallel = N, on_result = fn(result, i), on_progress = fn,
--                    compile = compile_opts, plans = sb.compile_all(recipes),
--                    warm = true, backend = "local"|"slurm", slurm = { partition,
--                    options = { sbatch options }, dir = a directory the nodes share })
-- -> results in the order of recipes (nil, message, "slurm" when the
-- cluster cannot be used).  With warm, jobs that share
-- everything but their command, env, cwd, stdio and wall/cpu_time/output
-- limits run in warm pools (one per such group, parallel jails each).
function M.run_all(list, opts)
  opts = opts or {}
  if type(list) ~= "table" then error("run_all: expected a list of recipes", 2) end
  local parallel = opts.parallel or 4
  if math.type(parallel) ~= "integer" or parallel < 1 then
    error("run_all: parallel: expected an integer >= 1", 2)
  end
  -- validate every recipe before running any
  local copts = opts.compile
  if opts.sample ~= nil then
    -- a timeline for every job whose recipe does not say otherwise
    copts = {}
    for k, v in pairs(opts.compile or {}) do copts[k] = v end
    copts.sample = opts.sample
  end
  local plans = opts.plans or M.compile_all(list, copts)
  if type(plans) ~= "table" or #plans ~= #list then
    error("run_all: plans: expected sb.compile_all(recipes), one plan per recipe", 2)
  end
  for i = 1, #plans do
    if getmetatable(plans[i]) ~= recipe.Plan then
      error(("run_all: plans[%d]: expected a plan from sb.compile"):format(i), 2)
    end
  end
  if opts.backend ~= nil and opts.backend ~= "local" then
    if opts.backend ~= "slurm" then error('run_all: backend: expected "local" or "slurm"', 2) end
    -- each job on a node of a Slurm cluster (cgsandbox.slurm)
    return require("cgsandbox.slurm").run_all(list, plans, opts, M)
  end
  local results, running, next_i, done, failed = {}, {}, 1, 0, 0
  local n = #list
  -- warm: a pool per group of jobs that share a jail, when it has several
  local pools, key_of, group = {}, {}, {}
  if opts.warm then
    local count = {}
    for i, plan in ipairs(plans) do
      -- a console, or fds of this process, go to one jail each
      if not plan.tty and not plan.pass_fds then
        key_of[i] = jail_key(plan)
        count[key_of[i]] = (count[key_of[i]] or 0) + 1
      end
    end
    for i = 1, n do
      if key_of[i] and count[key_of[i]] < 2 then key_of[i] = nil end
    end
    group = count
  end
  local function launch(i)
    local key = key_of[i]
    if not key then
      -- setup runs while the supervisor serves the others: a setup error
      -- comes back as this job's result
      plans[i].async_start = true
      return start(list[i], plans[i])
    end
    local pool = pools[key]
    if not pool then
      local err, errno, res
      pool, err, errno, res = new_pool(list[i], plans[i], math.min(parallel, group[key]), opts.compile)
      if not pool then
        res = res or { status = "setup_error", message = err, errno = errno, exit_code = 125 }
        res.name = plans[i].name
        return nil, err, errno, res
      end
      pool.remaining = group[key]
      pools[key] = pool
    end
    return pool:_start(list[i], plans[i])
  end
  local function progress()
    if opts.on_progress then
      local c = 0
      for _ in pairs(running) do c = c + 1 end
      opts.on_progress(done, n, c, failed)
    end
  end
  local function record(i, r)
    results[i] = r
    done = done + 1
    if r.status ~= "exited" or r.exit_code ~= 0 then failed = failed + 1 end
    if opts.on_result then opts.on_result(r, i) end
    progress()
  end
  while done < n do
    local count = 0
    for _ in pairs(running) do count = count + 1 end
    while count < parallel and next_i <= n and not M.stopping do
      local i = next_i
      next_i = next_i + 1
      local h, _, errno, res = launch(i)
      if h then
        running[h] = i
        count = count + 1
        if opts.on_start then opts.on_start(i, h) end
      elseif (errno == "EMFILE" or errno == "ENFILE" or errno == "EAGAIN") and count > 0 then
        -- out of fds (or processes) for now: a running job gives some
        -- back when it ends; this one starts then
        next_i = i
        break
      else
        record(i, res)
      end
    end
    if M.stopping and count == 0 then
      for i = next_i, n do
        record(i, { status = "skipped", message = "not started: the host was interrupted",
                    name = plans[i].name })
      end
      next_i = n + 1
      break
    end
    progress()
    if count > 0 then
      local ok, err, code = pump(nil)
      if not ok then return nil, err, code end
      for h, i in pairs(running) do
        if h.result then
          running[h] = nil
          record(i, h.result)
        end
      end
    end
  end
  for _, pool in pairs(pools) do pool:close() end
  core.settle() -- the last jails' remains: gone when run_all returns
  return results
end

-- settle([timeout_s]): a result is complete once the command has ended;
-- the jail's remains (its init's exit, which tears the namespaces down,
-- and its cgroup leaf) are removed in the background.  This waits until
-- they are gone (true), or timeout_s (default 5) passed (false).
function M.settle(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then error("settle: expected seconds", 2) end
  return core.settle(math.floor((timeout or 5) * 1000))
end

-- report(results, path[, opts]): the HTML report page of a result or a
-- list of results (cgsandbox.report.html; opts as there) written to path
-- -> true, or nil, message when Chart.js (Debian's libjs-chart.js) is
-- missing or the file cannot be written
function M.report(results, path, opts)
  if type(results) ~= "table" then error("report: expected a result or a list of results", 2) end
  if type(path) ~= "string" or path == "" then error("report: expected a file path", 2) end
  if type(results.status) == "string" then results = { results } end
  local html = require "cgsandbox.report_html"
  local lib, lerr = html.chartjs(type(opts) == "table" and opts.chartjs or nil)
  if not lib then return nil, lerr end
  local text = require("cgsandbox.report").html(results, opts)
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  f:close()
  if not ok then return nil, werr end
  return true
end

-- low-level cgroups: sb.cgroup.open(path), sb.cgroup.create{ parent, controllers }
M.cgroup = {
  open = function(path)
    if type(path) ~= "string" then error("cgroup.open: expected a path", 2) end
    return core.cgroup_open(path)
  end,
  create = function(o)
    o = o or {}
    if type(o) ~= "table" then error("cgroup.create: expected a table", 2) end
    local ctl = o.controllers
    if type(ctl) == "table" then ctl = table.concat(ctl, " ") end
    return core.cgroup_create(o.parent, ctl or "")
  end,
  mountpoint = core.cgroup_mountpoint,
  parent = core.cgroup_parent,
}

return M
