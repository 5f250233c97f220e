-- The sandboxlua command line.  A recipe file is a Lua script that returns a
-- recipe table (one jail), a list of recipes (a job list), or nothing (it
-- did its own work through require "cgsandbox").
local sb = require "cgsandbox"
local json = require "cgsandbox.json"
local report = require "cgsandbox.report"
local core = sb.core

local M = {}

-- exit statuses (README "Exit status")
M.EXIT_USAGE, M.EXIT_SETUP, M.EXIT_NOEXEC, M.EXIT_NOTFOUND, M.EXIT_TIMEOUT = 2, 125, 126, 127, 124

local USAGE = [[
usage: sandboxlua [options] recipe.lua [--] [args...]

Runs the jail (or the list of jails) that recipe.lua returns; args reach
the recipe as `...`.

options:
  --check               validate the recipe and print the compiled plan; spawn nothing
  --trace               print each setup step of the jail and its time on stderr
  --json FILE           write the result (or the list of results) as JSON ("-" = stdout)
  --junit FILE          write a JUnit XML report of a job list
  --cgroup-parent PATH  create the jail's cgroup under PATH
  --parallel N          jobs at once for a job list (default: the list's own, or 2)
  -q, --quiet           no summary table or progress line
  -h, --help            this text
  -V, --version         print the version

exit status: the command's own; 128+N when killed by signal N; 124 timeout;
125 setup failure; 126 not executable; 127 command not found; 2 bad recipe
or usage.  A job list exits 0 only when every job exited 0.
]]

local function die(code, fmt, ...)
  io.stderr:write("sandboxlua: ", fmt:format(...), "\n")
  return code
end

local function parse_args(argv)
  local o = { args = {} }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if o.file then
      if a ~= "--" or #o.args > 0 then o.args[#o.args + 1] = a end
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a == "-V" or a == "--version" then o.version = true
    elseif a == "--check" then o.check = true
    elseif a == "--trace" then o.trace = true
    elseif a == "-q" or a == "--quiet" then o.quiet = true
    elseif a == "--json" or a == "--junit" or a == "--cgroup-parent" or a == "--parallel" then
      local v = argv[i + 1]
      if not v then return nil, a .. " needs a value" end
      o[a:sub(3):gsub("-", "_")] = v
      i = i + 1
    elseif a:match("^%-%-[%w-]+=") then
      local k, v = a:match("^%-%-([%w-]+)=(.*)$")
      if k ~= "json" and k ~= "junit" and k ~= "cgroup-parent" and k ~= "parallel" then
        return nil, "unknown option --" .. k
      end
      o[k:gsub("-", "_")] = v
    elseif a == "--" then
      -- the recipe file comes next
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, "unknown option " .. a
    else
      o.file = a
    end
    i = i + 1
  end
  if o.parallel then
    o.parallel = math.tointeger(tonumber(o.parallel))
    if not o.parallel or o.parallel < 1 then return nil, "--parallel: expected an integer >= 1" end
  end
  return o
end

local function write_file(path, s)
  if path == "-" then
    io.stdout:write(s)
    return true
  end
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  f:write(s)
  f:close()
  return true
end

local function exit_code_of(r)
  if r.status == "exited" then return r.exit_code end
  if r.status == "timeout" then return M.EXIT_TIMEOUT end
  if r.status == "setup_error" then return r.exit_code or M.EXIT_SETUP end
  return r.exit_code or M.EXIT_SETUP -- signaled / oom: 128 + signal
end
M.exit_code_of = exit_code_of

-- JUnit XML and the summary table: cgsandbox.report
function M.junit(results, opts) return report.junit(results, opts) end

-- --trace: one line per setup step, where it ran (host or the jail's init;
-- init's steps are part of the host's "wait for READY", so the total adds
-- up the host's)
function M.print_trace(r, name)
  local total, pre = 0, "sandboxlua: trace " .. (name and (name .. ": ") or "")
  for _, t in ipairs(r.trace) do
    io.stderr:write(("%s%-5s %-28s %8.3f ms\n"):format(pre, t.where, t.step, t.ms))
    if t.where == "host" then total = total + t.ms end
  end
  io.stderr:write(("%s%-34s %8.3f ms\n"):format(pre, "total", total))
end

function M.summary(results, opts) return report.summary(results, opts) end

local function load_recipe(o)
  local chunk, err = loadfile(o.file, "t")
  if not chunk then return nil, err end
  local ok, r = xpcall(chunk, function(e)
    if getmetatable(e) == sb.RecipeError then return e end
    return debug.traceback(tostring(e), 2)
  end, table.unpack(o.args))
  if not ok then return nil, tostring(r) end
  return true, r
end

local function is_list(t)
  return type(t) == "table" and t.command == nil and (t.jobs ~= nil or t[1] ~= nil)
end

function M.main(argv)
  -- many jails want many fds; the jails themselves get the old limit
  core.raise_nofile()
  local o, err = parse_args(argv or {})
  if not o then return die(M.EXIT_USAGE, "%s (see --help)", err) end
  if o.help then io.stdout:write(USAGE) return 0 end
  if o.version then io.stdout:write("sandboxlua ", sb.version, "\n") return 0 end
  if not o.file then
    io.stderr:write(USAGE)
    return M.EXIT_USAGE
  end
  local ok, r = load_recipe(o)
  if not ok then return die(M.EXIT_USAGE, "%s", r) end
  if r == nil then return 0 end
  if math.type(r) == "integer" then return r end

  local copts = { cgroup_parent = o.cgroup_parent, trace = o.trace }
  if is_list(r) then
    local jobs = r.jobs or r
    local parallel = o.parallel or r.parallel or 2
    local okc, plans = pcall(sb.compile_all, jobs, copts)
    if not okc then
      if getmetatable(plans) == sb.RecipeError then return die(M.EXIT_USAGE, "%s", plans.message) end
      error(plans, 0)
    end
    if o.check then
      io.stdout:write(json.encode(plans, true), "\n")
      return 0
    end
    return M.run_jobs(jobs, parallel, o, plans)
  end
  if type(r) ~= "table" then
    return die(M.EXIT_USAGE, "%s must return a recipe table, a list of recipes or nothing (got %s)",
               o.file, type(r))
  end
  local okc, plan = pcall(sb.compile, r, copts)
  if not okc then
    if getmetatable(plan) == sb.RecipeError then return die(M.EXIT_USAGE, "%s", plan.message) end
    error(plan, 0)
  end
  if o.check then
    io.stdout:write(json.encode(plan, true), "\n")
    return 0
  end
  core.trap_signals()
  local interrupted
  sb.on_signal = function(sig)
    interrupted = interrupted or sig
    core.kill_all()
  end
  local raw = plan.tty and core.tty_raw()
  local okr, res = pcall(sb.run_plan, r, plan)
  if raw then core.tty_restore() end
  if not okr then error(res, 0) end
  if res.trace then M.print_trace(res) end
  if res.status == "setup_error" then
    io.stderr:write("sandboxlua: ", res.message or "setup failed", "\n")
  end
  if o.json then
    local okw, werr = write_file(o.json, report.json(res))
    if not okw then return die(M.EXIT_SETUP, "--json: %s", werr) end
  end
  if interrupted then return 128 + interrupted end
  return exit_code_of(res)
end

function M.run_jobs(jobs, parallel, o, plans)
  local tty = core.isatty(2) and not o.quiet
  local interrupted
  core.trap_signals()
  sb.on_signal = function(sig)
    interrupted = interrupted or sig
    sb.stopping = true
    core.kill_all()
  end
  local t0, started = core.now(), os.time()
  local results, err = sb.run_all(jobs, {
    parallel = parallel,
    plans = plans,
    on_progress = tty and function(done, n, running, failed)
      io.stderr:write(("\r\27[K[%d/%d] %d running, %d failed"):format(done, n, running, failed))
    end or nil,
  })
  if tty then io.stderr:write("\r\27[K") end
  if not results then return die(M.EXIT_SETUP, "%s", err) end
  for i, r in ipairs(results) do
    if r.trace then M.print_trace(r, r.name or ("job " .. i)) end
    if r.status == "setup_error" then
      io.stderr:write("sandboxlua: ", r.name and (r.name .. ": ") or "", r.message or "setup failed", "\n")
    end
  end
  local elapsed = core.now() - t0
  if not o.quiet then io.stdout:write(M.summary(results, { elapsed_s = elapsed })) end
  if o.json then
    local okw, werr = write_file(o.json, report.json(results))
    if not okw then return die(M.EXIT_SETUP, "--json: %s", werr) end
  end
  if o.junit then
    local okw, werr = write_file(o.junit, M.junit(results, {
      suite = o.file, elapsed_s = elapsed, timestamp = started,
      properties = { sandboxlua = sb.version, parallel = parallel } }))
    if not okw then return die(M.EXIT_SETUP, "--junit: %s", werr) end
  end
  if interrupted then return 128 + interrupted end
  for _, r in ipairs(results) do
    if r.status ~= "exited" or r.exit_code ~= 0 then return 1 end
  end
  return 0
end

return M
