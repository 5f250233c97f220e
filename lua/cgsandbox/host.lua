-- The sandboxlua command line.  A recipe file is a Lua script that returns a
-- recipe table (one jail), a list of recipes (a job list), or true / an
-- exit status (a script that ran its own jails through require "cgsandbox").
-- `sandboxlua run [options] -- CMD...` builds the recipe table from options
-- instead, and goes through the same compile path.
local sb = require "cgsandbox"
local units = require "cgsandbox.units"
-- loaded when needed: most runs are `sandboxlua recipe.lua` (no option
-- to parse) and write no report; each costs a start-up's 0.3 ms
local function lazy(name)
  return setmetatable({}, { __index = function(t, k)
    local m = require(name)
    setmetatable(t, { __index = m })
    return m[k]
  end })
end
local report = lazy "cgsandbox.report"
local core = sb.core

local M = {}

-- exit statuses (README "Exit status")
M.EXIT_USAGE, M.EXIT_SETUP, M.EXIT_NOEXEC, M.EXIT_NOTFOUND, M.EXIT_TIMEOUT = 2, 125, 126, 127, 124
M.EXIT_CLUSTER = 3 -- --slurm: no sbatch, or the controller refused the job list

local DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

-- every option: { names, value name or false (a flag), help, [repeatable] }
local COMMON = {
  { "--check", false, "validate, check what can be checked without spawning, print the plan" },
  { "-v --trace", false, "print each setup step of the jail and its time on stderr" },
  { "--json", "FILE", 'write the result (or the list of results) as JSON ("-" = stdout)' },
  { "--junit", "FILE", "write a JUnit XML report" },
  { "--report", "FILE", "write an HTML report page: summary, job table, timeline, charts (needs libjs-chart.js)" },
  { "--cgroup-parent", "PATH", "create the jail's cgroup under PATH (it must exist)" },
  { "--parallel", "N", "jobs at once for a job list (default: the list's own, or 2)" },
  { "--sample", "DURATION", "read each jail's cgroup this often into its result's timeline (e.g. 100ms)" },
  { "--kill-grace", "DURATION", "after SIGINT/SIGTERM/SIGHUP reached the commands, kill their cgroups this much later (default 5s)" },
  { "--slurm", false, "run a job list's jobs on a Slurm cluster, as one array job (see doc/scaling.md)" },
  { "--partition", "P", "with --slurm: the Slurm partition" },
  { "--slurm-opt", "OPT", "with --slurm: an sbatch option, as one word OPT=VALUE (repeatable)", true },
  { "--slurm-dir", "DIR", "with --slurm: a directory the nodes share (default ./.sandboxlua-slurm)" },
  { "-q --quiet", false, "no summary table or progress line (failures are still printed)" },
  { "-h --help", false, "this text" },
  { "-V --version", false, "print the version" },
}
local RUN = {
  { "--rootfs", "DIR", "the jail's root (default: the host's, read-only)" },
  { "--bind", "SRC[:DST]", "bind a host path (repeatable)", true },
  { "--ro-bind", "SRC[:DST]", "bind a host path read-only (repeatable)", true },
  { "--tmpfs", "DST[:SIZE]", "a tmpfs (repeatable)", true },
  { "--overlay", "SRC:DST", "a writable view of a host directory; writes die with the jail (repeatable)", true },
  { "--memory", "SIZE", "limits.memory, e.g. 512M" },
  { "--swap", "SIZE", "limits.swap" },
  { "--cpus", "N", "limits.cpu, in CPUs (0.5 = half of one)" },
  { "--pids", "N", "limits.pids (the jail's init counts)" },
  { "--wall", "DURATION", "limits.wall, e.g. 60s" },
  { "--cpu-time", "DURATION", "limits.cpu_time" },
  { "--net", "none|host", "network: loopback only (default) or the host's" },
  { "--env", "K=V", "set a variable (repeatable; PATH defaults to the standard one)", true },
  { "--env-inherit", "NAME", "pass a variable of the host's environment (repeatable)", true },
  { "--user", "UID[:GID]", "the command's ids" },
  { "--hostname", "NAME", "the jail's host name" },
  { "--cwd", "DIR", "the command's working directory" },
  { "--tty", false, "a console (pty) for the command" },
  { "--print-recipe", false, "print the equivalent Lua recipe and exit" },
}

local function parser_of(name, desc, sets)
  local p = require "argparse" (name, desc):add_help(false):usage_margin(2):help_max_width(80)
  for _, set in ipairs(sets) do
    for _, o in ipairs(set) do
      local opt = o[2] and p:option(o[1], o[3]):argname("<" .. o[2] .. ">") or p:flag(o[1], o[3])
      if o[4] then opt:count("*") end
    end
  end
  return p
end

local function main_parser()
  return parser_of("sandboxlua", "Runs the jail (or the list of jails) that a recipe returns.", { COMMON })
  :usage("usage: sandboxlua [options] RECIPE.lua|- [--] [args...]\n" ..
         "       sandboxlua run [options] [--] CMD [ARGS...]")
  :epilog([[
args reach the recipe as `...`; "-" reads the recipe from stdin.

exit status: the command's own; 128+N when killed by signal N (137 after an
OOM kill); 124 a time limit; 125 setup failure; 126 not executable; 127
command not found; 2 bad recipe or usage; 1 a job list where a job failed;
130/143/129 when sandboxlua itself got SIGINT/SIGTERM/SIGHUP.]])
end
-- built when asked for: a recipe run needs only the main parser
local function run_parser()
  return parser_of("sandboxlua run", "Runs one command in a jail built from options.", { RUN, COMMON })
    :usage("usage: sandboxlua run [options] [--] CMD [ARGS...]")
end

local function arity()
  local a = {}
  for _, set in ipairs { COMMON, RUN } do
    for _, o in ipairs(set) do
      for n in o[1]:gmatch("%S+") do a[n] = o[2] and 1 or 0 end
    end
  end
  return a
end
local ARITY = arity()

-- options end at the first word that is not one (the recipe, "run", the
-- command) or at "--": what follows belongs to the recipe or the command
local function split(argv, from)
  local i = from
  while i <= #argv do
    local a = argv[i]
    if a == "--" then return i - 1, i + 1 end
    if a == "-" or a:sub(1, 1) ~= "-" then return i - 1, i end
    local name = a:match("^(%-%-[^=]+)=") or a
    i = i + 1 + (a:find("=", 1, true) and 0 or (ARITY[name] or 0))
  end
  return #argv, #argv + 1
end

local function slice(t, i, j)
  return table.move(t, i, j or #t, 1, {})
end

local function parse_args(argv)
  local first = argv[1] == "run" and 2 or 1
  local last, rest = split(argv, first)
  local parser = first == 2 and run_parser or main_parser
  local o = {}
  if last >= first or argv[rest] == nil then
    local ok
    parser = parser()
    ok, o = parser:pparse(slice(argv, first, last))
    if not ok then return nil, o end
  end
  o.form = first == 2 and "run" or "recipe"
  if o.form == "run" then
    o.command = slice(argv, rest)
  else
    o.file = argv[rest]
    o.args = slice(argv, rest + 1)
    if o.args[1] == "--" then table.remove(o.args, 1) end
  end
  if o.parallel then
    o.parallel = math.tointeger(tonumber(o.parallel))
    if not o.parallel or o.parallel < 1 then return nil, "--parallel: expected an integer >= 1" end
  end
  if o.kill_grace then
    local okd, g = pcall(units.duration, tonumber(o.kill_grace) or o.kill_grace)
    if not okd then return nil, "--kill-grace: " .. tostring(g):gsub("^.-:%d+: ", "") end
    o.kill_grace = g
  end
  -- usage and help text: made only when shown
  o.parser = function()
    if type(parser) == "function" then parser = parser() end
    return parser
  end
  return o
end

-- run options -> a recipe table (validation is the compiler's, as for files)
local function num(v) return tonumber(v) or v end
local function src_dst(v, opt)
  local a, b = v:match("^(.-):(.*)$")
  if not a then return v, v end
  if a == "" or b == "" then error(("%s %s: expected SRC:DST"):format(opt, v), 0) end
  return a, b
end

function M.recipe_of_options(o)
  local r = { command = o.command, name = o.command[1] }
  r.rootfs, r.hostname, r.cwd = o.rootfs, o.hostname, o.cwd
  if o.tty then r.tty = true end
  if o.net then r.network = o.net end
  local mounts = {}
  for _, v in ipairs(o.bind or {}) do local a, b = src_dst(v, "--bind") mounts[#mounts + 1] = { "bind", a, b } end
  for _, v in ipairs(o.ro_bind or {}) do
    local a, b = src_dst(v, "--ro-bind")
    mounts[#mounts + 1] = { "bind", a, b, ro = true }
  end
  for _, v in ipairs(o.tmpfs or {}) do
    local dst, size = v:match("^(.-):(.+)$")
    mounts[#mounts + 1] = { "tmpfs", dst or v, size = size }
  end
  for _, v in ipairs(o.overlay or {}) do
    local a, b = v:match("^(.+):(.+)$")
    if not a then error(("--overlay %s: expected SRC:DST"):format(v), 0) end
    mounts[#mounts + 1] = { "overlay", a, b }
  end
  if #mounts > 0 then r.mounts = mounts end
  local l = {}
  l.memory, l.swap, l.cpu, l.pids = num(o.memory), num(o.swap), num(o.cpus), num(o.pids)
  l.wall, l.cpu_time = num(o.wall), num(o.cpu_time)
  if next(l) then r.limits = l end
  if o.env and #o.env > 0 then
    r.env = { PATH = DEFAULT_PATH }
    for _, kv in ipairs(o.env) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then error(("--env %s: expected NAME=VALUE"):format(kv), 0) end
      r.env[k] = v
    end
  end
  if o.env_inherit and #o.env_inherit > 0 then r.env_inherit = o.env_inherit end
  if o.user then
    local u, g = o.user:match("^(%d+):(%d+)$")
    r.user = u and { uid = tonumber(u), gid = tonumber(g) } or num(o.user)
  end
  return r
end

-- a recipe table as Lua source (--print-recipe): keys sorted, one level per line
local function lua_value(v, indent)
  if type(v) == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if type(v) ~= "table" then return tostring(v) end
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = lua_value(v[i], indent .. "  ") end
  local keys = {}
  for k in pairs(v) do if math.type(k) ~= "integer" or k < 1 or k > n then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. lua_value(k, "") .. "]")
    parts[#parts + 1] = key .. " = " .. lua_value(v[k], indent .. "  ")
  end
  local flat = "{ " .. table.concat(parts, ", ") .. " }"
  if #flat <= 72 - #indent then return #parts == 0 and "{}" or flat end
  return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. ",\n" .. indent .. "}"
end
M.lua_value = lua_value

local function die(code, fmt, ...)
  io.stderr:write("sandboxlua: ", fmt:format(...), "\n")
  return code
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
function M.summary(results, opts) return report.summary(results, opts) end

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

-- the recipe file (or stdin for "-"), run with args as `...`; a recipe
-- finds its own directory as sb.recipe_dir
local function load_recipe(o)
  local chunk, err
  if o.file == "-" then
    local src = io.stdin:read("a")
    chunk, err = load(src or "", "=stdin", "t")
    sb.recipe_dir = core.getcwd and core.getcwd() or os.getenv("PWD") or "."
  else
    chunk, err = loadfile(o.file, "t")
    local dir = o.file:match("^(.*)/[^/]*$") or "."
    if dir == "" then dir = "/" end
    sb.recipe_dir = dir
  end
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

-- an output file is checked before anything runs: a typo costs no jail
local function check_output(opt, path)
  if not path or path == "-" then return true end
  local existed = io.open(path, "r")
  if existed then existed:close() end
  local f, err = io.open(path, "a")
  if not f then return nil, ("%s: %s"):format(opt, err) end
  f:close()
  if not existed then os.remove(path) end
  return true
end

local function compile(fn, arg, copts)
  local ok, v = pcall(fn, arg, copts)
  if ok then return v end
  if getmetatable(v) == sb.RecipeError then return nil, v.message end
  error(v, 0)
end

-- one warning line for limits that did not apply (optional ones)
local function warn_skipped(r, name)
  if type(r.skipped_controllers) == "table" and #r.skipped_controllers > 0 then
    io.stderr:write(("sandboxlua: warning: %slimits not applied: controller%s %s not available here (optional)\n")
      :format(name and (name .. ": ") or "", #r.skipped_controllers > 1 and "s" or "",
              table.concat(r.skipped_controllers, ", ")))
  end
end

-- a limit as the user wrote it, when it is a whole number of units
local function limit_size(n)
  for _, u in ipairs { { "T", 2^40 }, { "G", 2^30 }, { "M", 2^20 }, { "K", 2^10 } } do
    if n >= u[2] and n % u[2] == 0 then return ("%d%s"):format(n // u[2], u[1]) end
  end
  return units.format_size(n)
end

-- why the kernel ended a job early, in one line (nil when it did not)
function M.killed_line(r, plan)
  local lim = plan and plan.cgroup and plan.cgroup.writes or {}
  local function limit(file)
    for _, w in ipairs(lim) do if w[1] == file then return w[2] end end
  end
  if r.status == "oom" then
    local max = limit("memory.max")
    local kills = r.oom_kills or 0
    return ("job killed: memory limit %s reached (peak %s, %d OOM kill%s)"):format(
      tonumber(max) and limit_size(math.tointeger(tonumber(max))) or max or "?", r.memory_peak and units.format_size(r.memory_peak) or "?",
      kills, kills == 1 and "" or "s")
  elseif r.status == "timeout" then
    local cpu = r.timeout == "cpu"
    local ms = cpu and plan and plan.cpu_time_us and plan.cpu_time_us / 1000 or plan and plan.wall_ms
    return ("job killed: %s limit %s reached"):format(cpu and "cpu_time" or "wall",
      ms and ("%gs"):format(ms / 1000) or "?")
  end
end

-- --check: what can be known without spawning
local function exists(p) local f = io.open(p, "r") if f then f:close() return true end return false end
local function is_dir(p)
  local f = io.open(p, "r")
  if not f then return false end
  local _, _, code = f:read(1) -- a directory opens, and reading it says EISDIR
  f:close()
  return code == 21
end

function M.checks(plan)
  local problems = {}
  local root = plan.rootfs or "/"
  if not is_dir(root) then problems[#problems + 1] = "rootfs " .. root .. ": no such directory" end
  for _, m in ipairs(plan.mounts or {}) do
    if (m.kind == "bind" or m.kind == "overlay") and m.src and not m.optional and not exists(m.src) then
      problems[#problems + 1] = ("mount %s -> %s: %s does not exist"):format(m.kind, m.dst, m.src)
    end
  end
  local cmd = plan.argv and plan.argv[1]
  if cmd and #problems == 0 then
    local found
    if cmd:find("/", 1, true) then
      found = exists(root .. "/" .. cmd)
    else
      local path = DEFAULT_PATH
      for _, kv in ipairs(plan.env or {}) do path = kv:match("^PATH=(.*)") or path end
      for d in path:gmatch("[^:]+") do
        if exists(root .. "/" .. d .. "/" .. cmd) then found = true break end
      end
    end
    if not found then problems[#problems + 1] = ("command %s: not found in the rootfs %s"):format(cmd, root) end
  end
  local writes = plan.cgroup and plan.cgroup.writes or {}
  if #writes > 0 then
    local parent = plan.cgroup.parent or core.cgroup_parent()
    local mnt = core.cgroup_mountpoint()
    local f = parent and io.open(parent .. "/cgroup.controllers") or (mnt and io.open(mnt .. "/cgroup.controllers"))
    local avail = f and f:read("a") or ""
    if f then f:close() end
    local seen = {}
    for _, w in ipairs(writes) do
      local c = w[1]:match("^([^.]+)%.")
      if c and not seen[c] and not w.optional and not avail:find("%f[%w]" .. c .. "%f[^%w]") then
        seen[c] = true
        problems[#problems + 1] = ("limits: controller %s not available in %s"):format(c, parent or mnt or "?")
      end
    end
  end
  return problems
end

function M.describe(plan)
  local out = {}
  local function add(k, v) out[#out + 1] = ("  %-12s %s"):format(k, v) end
  add("command", table.concat(plan.argv or {}, " "))
  add("rootfs", (plan.rootfs or "/ (the host's)") .. (plan.root_readonly and ", read-only" or ", writable"))
  add("user", ("%s:%s"):format(tostring(plan.uid), tostring(plan.gid)))
  add("cwd", plan.cwd or "/")
  add("hostname", plan.hostname or "")
  for _, m in ipairs(plan.mounts or {}) do
    add("mount", ("%s%s -> %s%s"):format(m.kind, m.src and (" " .. m.src) or "", m.dst,
                                         m.ro and " (ro)" or ""))
  end
  for _, w in ipairs(plan.cgroup and plan.cgroup.writes or {}) do
    add("limit", ("%s = %s%s"):format(w[1], w[2], w.optional and " (optional)" or ""))
  end
  if plan.wall_ms then add("limit", ("wall = %gs"):format(plan.wall_ms / 1000)) end
  if plan.cpu_time_us then add("limit", ("cpu_time = %gs"):format(plan.cpu_time_us / 1e6)) end
  return table.concat(out, "\n") .. "\n"
end

local function check_report(plans, names)
  local bad = 0
  for i, plan in ipairs(plans) do
    io.stdout:write(report.name({ name = names[i] }, i), ":\n", M.describe(plan))
    for _, p in ipairs(M.checks(plan)) do
      bad = bad + 1
      io.stdout:write("  problem      ", p, "\n")
    end
  end
  io.stdout:write(bad == 0 and "ok\n" or ("%d problem%s\n"):format(bad, bad == 1 and "" or "s"))
  return bad == 0 and 0 or M.EXIT_SETUP
end

local function trap(o)
  core.trap_signals()
  local got
  sb.on_signal = function(sig)
    got = got or sig
    sb.interrupt(sig, o.kill_grace or 5)
  end
  return function() return got end
end

function M.main(argv)
  -- `sandboxlua oci ...`: the OCI runtime's commands, loaded only for them
  if argv and argv[1] == "oci" then
    return require("cgsandbox.oci_cli").main(slice(argv, 2))
  end
  -- a Slurm task on its node (cgsandbox.slurm writes the batch script)
  if argv and argv[1] == "--slurm-task" then
    return require("cgsandbox.slurm").task(slice(argv, 2))
  end
  -- called by the name sandboxlua-oci (a link): an engine's runtime path,
  -- with runc's arguments
  if argv and type(argv[0]) == "string" and argv[0]:match("[^/]*$") == "sandboxlua-oci" then
    return require("cgsandbox.oci_cli").main(slice(argv, 1))
  end
  -- many jails want many fds; the jails themselves get the old limit
  core.raise_nofile()
  local o, err = parse_args(argv or {})
  if not o then return die(M.EXIT_USAGE, "%s (see --help)", err) end
  if o.help then io.stdout:write(o.parser():get_help(), "\n") return 0 end
  if o.version then io.stdout:write("sandboxlua ", sb.version, "\n") return 0 end
  local r
  if o.form == "run" then
    if #o.command == 0 then io.stderr:write(o.parser():get_usage(), "\n") return M.EXIT_USAGE end
    local ok, rr = pcall(M.recipe_of_options, o)
    if not ok then return die(M.EXIT_USAGE, "%s", rr) end
    r = rr
    if o.print_recipe then
      io.stdout:write("return ", lua_value(r, ""), "\n")
      return 0
    end
  else
    if not o.file then io.stderr:write(o.parser():get_usage(), "\n") return M.EXIT_USAGE end
    local ok
    ok, r = load_recipe(o)
    if not ok then return die(M.EXIT_USAGE, "%s", r) end
    if r == true then return 0 end
    if math.type(r) == "integer" then return r end
    if r == nil then
      return die(M.EXIT_USAGE, "%s returned nothing: return a recipe table or a list of recipes "
        .. "(a script that ran its own jails returns true or an exit status)", o.file == "-" and "stdin" or o.file)
    end
  end
  for _, out in ipairs { { "--json", o.json }, { "--junit", o.junit }, { "--report", o.report } } do
    local okc, cerr = check_output(out[1], out[2])
    if not okc then return die(M.EXIT_USAGE, "%s", cerr) end
  end
  -- the page inlines Chart.js: a missing package costs no jail either
  if o.report then
    local lib, lerr = require("cgsandbox.report_html").chartjs()
    if not lib then return die(M.EXIT_USAGE, "--report: %s", lerr) end
  end
  -- a report draws each job's timeline: sample unless told otherwise
  local copts = { cgroup_parent = o.cgroup_parent, trace = o.trace,
                  sample = o.sample or (o.report and "100ms") or nil }
  if o.slurm and not is_list(r) and type(r) == "table" and not o.check then
    r = { r } -- one job on the cluster is a list of one
  end
  if not o.slurm and (o.partition or o.slurm_opt and #o.slurm_opt > 0 or o.slurm_dir) then
    return die(M.EXIT_USAGE, "--partition, --slurm-opt and --slurm-dir go with --slurm")
  end
  if is_list(r) then
    local jobs = r.jobs or r
    local plans, cerr = compile(sb.compile_all, jobs, copts)
    if not plans then return die(M.EXIT_USAGE, "%s", cerr) end
    if o.check then
      local names = {}
      for i, j in ipairs(jobs) do names[i] = type(j) == "table" and j.name or nil end
      return check_report(plans, names)
    end
    return M.run_jobs(jobs, o.parallel or r.parallel or 2, o, plans)
  end
  if type(r) ~= "table" then
    return die(M.EXIT_USAGE, "%s must return a recipe table or a list of recipes (got %s)", o.file, type(r))
  end
  -- --json - is the report: the jail's stdout goes into it, not around it
  if o.json == "-" and (r.stdio == nil or r.stdio.stdout == nil or r.stdio.stdout == "inherit") and not r.tty then
    r.stdio = r.stdio or {}
    r.stdio.stdout = "capture"
  end
  local plan, cerr = compile(sb.compile, r, copts)
  if not plan then return die(M.EXIT_USAGE, "%s", cerr) end
  if o.check then return check_report({ plan }, { r.name }) end
  local interrupted = trap(o)
  local started = { now = core.now(), epoch = os.time() }
  local raw = plan.tty and core.tty_raw()
  local okr, res = pcall(sb.run_plan, r, plan)
  if raw then core.tty_restore() end
  if not okr then error(res, 0) end
  if res.trace then M.print_trace(res) end
  warn_skipped(res)
  if res.status == "setup_error" then
    io.stderr:write("sandboxlua: ", res.message or "setup failed", "\n")
  end
  local kl = M.killed_line(res, plan)
  if kl then io.stderr:write("sandboxlua: ", kl, "\n") end
  if o.json then
    local okw, werr = write_file(o.json, report.json(res))
    if not okw then return die(M.EXIT_SETUP, "--json: %s", werr) end
  end
  if o.junit then
    res.name = res.name or r.name or (o.file or "job")
    local okw, werr = write_file(o.junit, report.junit({ res }, M.junit_opts(o, started)))
    if not okw then return die(M.EXIT_SETUP, "--junit: %s", werr) end
  end
  if o.report then
    res.name = res.name or r.name or (o.file or "job")
    local okw, werr = write_file(o.report, report.html({ res }, M.report_opts(o, started)))
    if not okw then return die(M.EXIT_SETUP, "--report: %s", werr) end
  end
  if interrupted() then return 128 + interrupted() end
  return exit_code_of(res)
end

-- started = { now = core.now(), epoch = os.time() } at the start; the
-- hostname is report.junit's own (the kernel's)
function M.junit_opts(o, started)
  return { suite = o.file or (o.command and o.command[1]) or "sandboxlua", timestamp = started.epoch,
           elapsed_s = core.now() - started.now,
           properties = { sandboxlua = sb.version, parallel = o.parallel } }
end

-- the report page's: titled by the recipe file, timed like JUnit
function M.report_opts(o, started)
  local title = o.file and o.file ~= "-" and o.file:match("([^/]+)$") or (o.command and o.command[1]) or nil
  return { title = title and ("sandboxlua: " .. title) or nil, timestamp = started.epoch,
           elapsed_s = core.now() - started.now, version = sb.version }
end

function M.run_jobs(jobs, parallel, o, plans)
  local tty = core.isatty(2) and not o.quiet
  local interrupted = trap(o)
  local started = { now = core.now(), epoch = os.time() }
  local function running_names(list)
    local t = {}
    for i in pairs(list) do t[#t + 1] = i end
    table.sort(t)
    for k, i in ipairs(t) do t[k] = report.name({ name = plans[i].name }, i) end
    local s = table.concat(t, ", ")
    return #s > 40 and (s:sub(1, 37) .. "...") or s
  end
  local live = {}
  local results, err, code = sb.run_all(jobs, {
    parallel = parallel,
    plans = plans,
    backend = o.slurm and "slurm" or nil,
    slurm = o.slurm and { partition = o.partition, options = o.slurm_opt, dir = o.slurm_dir } or nil,
    compile = o.slurm and { trace = o.trace, sample = o.sample or (o.report and "100ms") or nil,
                            cgroup_parent = o.cgroup_parent } or nil,
    on_start = function(i) live[i] = true end,
    on_result = function(_, i) live[i] = nil end,
    on_progress = tty and function(done, n, running, failed)
      io.stderr:write(("\r\27[K[%d/%d] %.0fs, %d failed, running: %s"):format(done, n, core.now() - started.now,
        failed, running > 0 and running_names(live) or "-"))
    end or nil,
  })
  if tty then io.stderr:write("\r\27[K") end
  if not results then return die(code == "slurm" and M.EXIT_CLUSTER or M.EXIT_SETUP, "%s", err) end
  for i, r in ipairs(results) do
    r.name = report.name(r, i) -- one name in JSON, the table and JUnit
    if r.trace then M.print_trace(r, r.name) end
    warn_skipped(r, r.name)
    if r.status == "setup_error" then
      io.stderr:write("sandboxlua: ", r.name, ": ", r.message or "setup failed", "\n")
    end
  end
  local elapsed = core.now() - started.now
  if not o.quiet then io.stdout:write(report.summary(results, { elapsed_s = elapsed })) end
  local fails = report.failures(results, { lines = 10 })
  if fails ~= "" then io.stderr:write(fails) end
  if o.json then
    local okw, werr = write_file(o.json, report.json(results))
    if not okw then return die(M.EXIT_SETUP, "--json: %s", werr) end
  end
  if o.junit then
    local okw, werr = write_file(o.junit, report.junit(results, M.junit_opts(o, started)))
    if not okw then return die(M.EXIT_SETUP, "--junit: %s", werr) end
  end
  if o.report then
    local okw, werr = write_file(o.report, report.html(results, M.report_opts(o, started)))
    if not okw then return die(M.EXIT_SETUP, "--report: %s", werr) end
  end
  if interrupted() then return 128 + interrupted() end
  for _, r in ipairs(results) do
    if r.status ~= "exited" or r.exit_code ~= 0 then return 1 end
  end
  return 0
end

return M
