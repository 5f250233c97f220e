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

local function finish(h)
  local r = h.jail:result()
  r.name = h.name
  if #h.hook_errors > 0 then r.hook_errors = h.hook_errors end
  h.result = r
  h.jail:close()
  hook(h, "on_exit", r)
  if #h.hook_errors > 0 then r.hook_errors = h.hook_errors end
  handles[h.jail] = nil
end

local waiting = {} -- coroutine -> handle it waits for (sb.loop)

-- process what the kernel reported; timeout_ms nil = block until something
local function pump(timeout_ms)
  local evs, err, code = core.step(timeout_ms)
  if not evs then return nil, err, code end
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
  return h
end

-- spawn(recipe, compile_opts) -> handle | nil, message, errno, result
function M.spawn(r, opts)
  return start(r, M.compile(r, opts))
end

local function check(h)
  if getmetatable(h) ~= Handle then error("expected a jail handle", 3) end
  return h
end

function Handle:pid()
  check(self)
  if self.result then return nil, "pid: the jail has exited", "ESRCH" end
  return self.jail:pid()
end

-- wait() -> result.  Inside sb.loop() it yields so other jails progress.
function Handle:wait()
  check(self)
  while not self.result do
    local co, main = coroutine.running()
    if not main and waiting[co] == false then
      waiting[co] = self
      coroutine.yield()
    else
      local ok, err, code = pump(nil)
      if not ok then return nil, err, code end
    end
  end
  return self.result
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

local LIVE = {
  memory = { "memory.max", units.size, true }, memory_high = { "memory.high", units.size, true },
  memory_low = { "memory.low", units.size, true }, memory_min = { "memory.min", units.size, true },
  swap = { "memory.swap.max", units.size, true }, cpu = { "cpu.max", units.cpu },
  cpu_weight = { "cpu.weight", units.count }, pids = { "pids.max", units.count, true },
}

-- set_limit("memory_high", "100M"): written to the live cgroup
function Handle:set_limit(name, value)
  check(self)
  local l = LIVE[name]
  if not l then error(("set_limit: unknown limit %q"):format(tostring(name)), 2) end
  local v, what = l[2](value, l[3])
  if v == nil then error(("set_limit: %s: expected %s"):format(name, what), 2) end
  if self.result then return nil, "set_limit: the jail has exited", "ESRCH" end
  return self.jail:set(l[1], tostring(v))
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

-- close(): kill if still running, reap, remove the cgroup
function Handle:close()
  if not self.result then
    self.jail:kill("KILL")
    self:wait()
  end
end
Handle.__close = Handle.close

-- run(recipe) -> result (setup errors come back as status "setup_error")
function M.run(r, opts)
  return M.run_plan(r, M.compile(r, opts))
end

-- run_plan(recipe, plan): run a plan sb.compile made of that recipe (the
-- recipe still brings the hooks) without compiling it again
function M.run_plan(r, plan)
  if type(r) ~= "table" or type(plan) ~= "table" then
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
      if not any then return true end
      local ok, err, code = pump(nil)
      if not ok then return nil, err, code end
    end
  end
end

-- run_all(recipes, { parallel = N, on_result = fn(result, i), on_progress = fn,
--                    compile = compile_opts, plans = sb.compile_all(recipes) })
-- -> results in the order of recipes
function M.run_all(list, opts)
  opts = opts or {}
  if type(list) ~= "table" then error("run_all: expected a list of recipes", 2) end
  local parallel = opts.parallel or 4
  if math.type(parallel) ~= "integer" or parallel < 1 then
    error("run_all: parallel: expected an integer >= 1", 2)
  end
  -- validate every recipe before running any
  local plans = opts.plans or M.compile_all(list, opts.compile)
  local results, running, next_i, done, failed = {}, {}, 1, 0, 0
  local n = #list
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
      -- setup runs while the supervisor serves the others: a setup error
      -- comes back as this job's result
      plans[i].async_start = true
      local h, _, _, res = start(list[i], plans[i])
      if h then
        running[h] = i
        count = count + 1
      else
        record(i, res)
      end
    end
    if M.stopping and count == 0 then
      for i = next_i, n do
        record(i, { status = "setup_error", step = "cancelled", message = "not started: interrupted",
                    exit_code = 125, name = list[i].name })
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
  return results
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
