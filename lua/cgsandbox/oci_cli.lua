-- `sandboxlua oci COMMAND`: the OCI runtime's command line (loaded only
-- for it, or by the name sandboxlua-oci): runc's global flags and commands
-- over state under --root (issue 12).
local oci = require "cgsandbox.oci"

local M = {}

local USAGE = [==[
usage: sandboxlua oci [GLOBAL FLAGS] COMMAND [ARGS]
       sandboxlua-oci [GLOBAL FLAGS] COMMAND [ARGS]   (the same, by its name)

global flags (as runc's):
  --root DIR          the containers' state (default /run/sandboxlua)
  --log FILE          errors (and --debug lines) also go to FILE
  --log-format F      text (default) or json: {"level","msg","time"} lines
  --debug             debug lines in the log
  --policy FILE       the site policy (default /etc/sandboxlua/oci-policy.lua
                      when it exists)
  --systemd-cgroup    refused: not supported yet

commands:
  create [--bundle B] [--pid-file F] [--console-socket S] [--preserve-fds N]
         ID                               build the container; it waits for start
                                          (--preserve-fds: fds 3 .. 2+N go along)
  start ID                                run its process
  run [--bundle B] [--pid-file F] [--console-socket S] [--preserve-fds N]
      [--detach] ID
                                          create + start; waits and exits
                                          with the process's status, then deletes
  exec [--process FILE] [--detach] [--pid-file F] [--tty --console-socket S]
       [--cwd D] [--env K=V]... [--user UID[:GID]] [--additional-gids G]...
       [--cap C]... [--no-new-privs] [--preserve-fds N] ID [ARGS...]
                                          a new process in the running
                                          container (its namespaces, cgroup,
                                          seccomp filter); without --detach:
                                          waits, exits with its status
  state ID                                its state as JSON (runc's fields)
  kill [--all] ID [SIGNAL]                default SIGTERM
  delete [--force] ID                     remove it (--force: also a running one)
  list [--format table|json] [--quiet]
  ps [--format table|json] ID             the processes of its cgroup
  pause ID / resume ID                    cgroup.freeze
  update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID
                                          new limits for a live container
  spec [--rootless] [--bundle DIR]        write a default config.json
  features                                what this runtime supports (JSON)

exit status: 0 done, 1 failed, 2 usage, 3 no such container, 4 the
container's state does not allow it, 5 config.json or the policy refused.
events, checkpoint and restore are not supported yet.
See doc/oci.md.
]==]

-- the global flags' log (--log, --log-format, --debug)
local G = { root = "/run/sandboxlua", log = nil, log_format = "text", debug = false }

local function core_() return require "cgsandbox.core" end

local function rfc3339(sec, nsec)
  return os.date("!%Y-%m-%dT%H:%M:%S", sec) .. ("." .. ("%09d"):format(nsec)):gsub("0+$", ""):gsub("%.$", "") .. "Z"
end

local function now3339() return rfc3339(core_().realtime()) end

local function log(level, msg)
  if not G.log then return end
  if level == "debug" and not G.debug then return end
  local f = io.open(G.log, "a")
  if not f then return end
  if G.log_format == "json" then
    f:write(require("dkjson").encode({ level = level, msg = msg, time = now3339() },
      { keyorder = { "level", "msg", "time" } }), "\n")
  else
    f:write(("time=%q level=%s msg=%q\n"):format(now3339(), level, msg))
  end
  f:close()
end

-- exit statuses
local E_FAIL, E_USAGE, E_NOENT, E_STATE, E_CONFIG = 1, 2, 3, 4, 5

local function die(code, fmt, ...)
  local msg = fmt:format(...)
  io.stderr:write("sandboxlua oci: ", msg, "\n")
  log("error", msg)
  return code
end

-- the features document (runtime-spec features.md, as runc prints it):
-- only what the translation honours
function M.features()
  local sb = require "cgsandbox"
  local arr = function(t) return setmetatable(t, oci.array_mt) end
  local obj = function(t) return setmetatable(t, oci.object_mt) end
  local caps = {}
  for n in pairs(sb.core.cap_names()) do caps[#caps + 1] = "CAP_" .. n:upper() end
  table.sort(caps)
  -- the architectures this libseccomp can add to a filter
  local archs = {}
  for a, name in pairs(oci.SECCOMP_ARCHES) do
    if sb.core.seccomp_check({ rules = {}, default = "allow", arches = { name } }) then archs[#archs + 1] = a end
  end
  table.sort(archs)
  return obj {
    ociVersionMin = oci.VERSION_MIN,
    ociVersionMax = oci.VERSION_MAX,
    hooks = arr { table.unpack(oci.HOOK_KINDS) },
    mountOptions = arr { table.unpack(oci.MOUNT_OPTIONS) },
    linux = obj {
      namespaces = arr { table.unpack(oci.NAMESPACES) },
      capabilities = arr(caps),
      cgroup = obj { v1 = false, v2 = true, systemd = false, systemdUser = false, rdma = true },
      seccomp = obj {
        enabled = true,
        actions = arr { table.unpack(oci.SECCOMP_ACTIONS) },
        operators = arr { table.unpack(oci.SECCOMP_OPERATORS) },
        archs = arr(archs),
        knownFlags = arr { table.unpack(oci.SECCOMP_FLAGS) },
        supportedFlags = arr { table.unpack(oci.SECCOMP_FLAGS) },
      },
      apparmor = obj { enabled = false },
      selinux = obj { enabled = false },
      intelRdt = obj { enabled = false },
      mountExtensions = obj { idmap = obj { enabled = false } },
    },
    annotations = obj { ["org.sandboxlua.version"] = sb.version },
  }
end

local FEATURE_ORDER = { "ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "namespaces",
                        "capabilities", "cgroup", "seccomp", "enabled", "actions", "operators", "archs",
                        "apparmor", "selinux", "intelRdt", "annotations" }

local function spec(args)
  local rootless, bundle = false, "."
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--rootless" then rootless = true
    elseif a == "--bundle" or a == "-b" then
      i = i + 1
      bundle = args[i]
      if not bundle then return die(2, "spec: --bundle needs a directory") end
    elseif a:match("^%-%-bundle=") then bundle = a:sub(10)
    else return die(2, "spec: unknown argument %q (see sandboxlua oci --help)", a) end
    i = i + 1
  end
  local file = (bundle:gsub("/+$", "")) .. "/config.json"
  local f = io.open(file, "r")
  if f then
    f:close()
    return die(1, "%s exists: remove it first", file)
  end
  local core = require "cgsandbox.core"
  local c = oci.default_config(rootless, core.getuid(), core.getgid())
  local out, err = io.open(file, "w")
  if not out then return die(1, "%s", err) end
  out:write(oci.encode(c, oci.KEY_ORDER), "\n")
  out:close()
  return 0
end

------------------------------------------------------------------------
-- the runtime: state under --root, one directory per container:
--   state.json  (written whole, then renamed into place)
--   exec.fifo   (while created: its init waits for start's byte on it)
-- the directory itself is the lock (flock) for commands that change it

local ARR_MT, OBJ_MT = oci.array_mt, oci.object_mt
local function arr(t) return setmetatable(t, ARR_MT) end
local STATE_ORDER = { "ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner",
                      "annotations" }

local function dir_of(id) return G.root .. "/" .. id end

local function valid_id(id)
  return type(id) == "string" and #id <= 1024 and id:match("^[%w][%w_.+-]*$") ~= nil
end

local files = require "cgsandbox.files"
local read_file, write_atomic = files.read, files.write_atomic

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  local cwd = os.getenv("PWD")
  if not cwd then
    local h = io.popen("pwd")
    cwd = h:read("l")
    h:close()
  end
  return (cwd .. "/" .. p):gsub("/%./", "/"):gsub("/%.$", "")
end

local function mkdir_p(path)
  local c = core_()
  local cur = ""
  for seg in path:gmatch("[^/]+") do
    cur = cur .. "/" .. seg
    local ok, _, en = c.mkdir(cur, tonumber("711", 8))
    if not ok and en ~= "EEXIST" then return nil, ("cannot create %s"):format(cur) end
  end
  return true
end

-- the saved state, or nil (no such container)
local function load_state(id)
  local text = read_file(dir_of(id) .. "/state.json")
  if not text then return nil end
  local st = require("dkjson").decode(text)
  if type(st) ~= "table" then return nil end
  return st
end

local function save_state(st)
  local json = require("dkjson").encode(st, { indent = true })
  return write_atomic(dir_of(st.id) .. "/state.json", json .. "\n")
end

local function cg_read(st, file)
  if not st.cgroup then return nil end
  local v = read_file(st.cgroup .. "/" .. file)
  return v and v:gsub("%s+$", "")
end

local function cg_write(st, file, value)
  local f, err = io.open(st.cgroup .. "/" .. file, "w")
  if not f then return nil, err end
  local ok, werr = f:write(value)
  local cok, cerr = f:close()
  if not ok or not cok then return nil, werr or cerr end
  return true
end

-- the container's init is the saved pid with the saved start time, and
-- not a zombie
local function alive(st)
  if not st.pid or st.pid <= 0 then return false end
  local t, pstate = core_().proc_start(st.pid)
  return t ~= nil and t == st.pid_start and pstate ~= "Z" and pstate ~= "X"
end

-- fifo test without opening it for reading (that would block): io.open
-- of a fifo for reading blocks, so look at the directory instead
local function has_fifo(id)
  for _, n in ipairs(core_().listdir(dir_of(id)) or {}) do
    if n == "exec.fifo" then return true end
  end
  return false
end

local function status_of(st)
  if not alive(st) then return "stopped" end
  if st.status == "creating" then return "creating" end
  if has_fifo(st.id) then return "created" end
  local ev = cg_read(st, "cgroup.events") or ""
  if ev:match("frozen 1") then return "paused" end
  return "running"
end

local function lock(id)
  local fd = core_().flock(dir_of(id))
  return fd
end

local function unlock(fd) if fd then core_().close_fd(fd) end end

-- the state JSON as runc prints it
local function state_json(st)
  local status = status_of(st)
  local o = setmetatable({
    ociVersion = oci.VERSION_MAX, id = st.id, -- the runtime's spec, as runc says its own
    pid = status == "stopped" and 0 or st.pid,
    status = status, bundle = st.bundle, rootfs = st.rootfs, created = st.created,
    owner = st.owner or "",
  }, OBJ_MT)
  if st.annotations and next(st.annotations) then
    o.annotations = setmetatable(st.annotations, OBJ_MT)
  end
  return oci.encode(o, STATE_ORDER)
end

local function sleep(s) core_().sleep(s) end

-- a hook that ran and failed: its status, and its output's tail on one line
local function hook_failed(where, h, code, out)
  out = out:gsub("%s+$", ""):gsub("\n", " ")
  return nil, ("%s: %s exited with status %d%s"):format(where, h.path, code, out ~= "" and (": " .. out) or "")
end

-- the hooks of one kind, in order, each with the state JSON on stdin.
-- nil, "hooks.KIND[i]: why" at the first that fails
local function run_hooks(st, kind)
  local list = st.hooks and st.hooks[kind]
  if not list then return true end
  local state = state_json(st)
  for i, h in ipairs(list) do
    local where = ("hooks.%s[%d]"):format(kind, i - 1)
    log("debug", ("%s: %s"):format(where, h.path))
    local code, out, en = core_().run_hook { path = h.path, args = h.args, env = h.env, timeout = h.timeout,
                                             stdin = state }
    if not code then return nil, ("%s: %s"):format(where, out), en end
    if code ~= 0 then return hook_failed(where, h, code, out) end
  end
  return true
end

-- the cgroup of a live process, as a path under the cgroup2 mount
local function cgroup_of(pid)
  local text = read_file("/proc/" .. pid .. "/cgroup") or ""
  local rel = text:match("^0::(/[^\n]*)") or text:match("\n0::(/[^\n]*)")
  local mnt = core_().cgroup_mountpoint()
  if not rel or not mnt then return nil end
  return (mnt .. rel):gsub("/$", "")
end

-- the plan of a process to start in a running container (exec, the hooks
-- inside it): the container's own cgroup is joined, not made, and the
-- namespaces it joined by path are its init's, joined through init like
-- the rest.  nil, message when the recipe does not compile
local function exec_plan(recipe)
  recipe.cgroup = nil
  local pok, plan = pcall(require("cgsandbox").compile, recipe)
  if not pok then return nil, tostring(type(plan) == "table" and plan.msg or plan) end
  for _, j in ipairs(plan.join or {}) do plan.namespaces[#plan.namespaces + 1] = j.type end
  plan.join = nil
  return plan
end

-- createContainer and startContainer: in the container's namespaces and
-- cgroup, run by sandboxlua's own init in join mode (exec's way in,
-- through a pidfd of the container's init), as the container's root with
-- every capability and no filter, as runc runs them from its init.  Its
-- path resolves where it runs: before pivot_root (createContainer) that
-- is still the runtime's tree, after it (startContainer) the container's.
-- argv[0] is the path (the jail's exec takes no other).  Its output goes
-- to a file in the state directory, for the error line.
local function run_hooks_inside(st, kind, config, cgroup)
  local list = st.hooks and st.hooks[kind]
  if not list then return true end
  local c = core_()
  local state = state_json(st)
  -- every capability the runtime itself holds (what it can give)
  local eff = tonumber((read_file("/proc/self/status") or ""):match("\nCapEff:%s*(%x+)") or "0", 16) or 0
  local all = arr {}
  for n, bit in pairs(c.cap_names()) do
    if (eff >> bit) & 1 == 1 then all[#all + 1] = "CAP_" .. n:upper() end
  end
  table.sort(all)
  local out_file = dir_of(st.id) .. "/hook.out"
  for i, h in ipairs(list) do
    local where = ("hooks.%s[%d]"):format(kind, i - 1)
    log("debug", ("%s: %s (in the container)"):format(where, h.path))
    local argv = arr { h.path, table.unpack(h.args, 2) }
    local process = setmetatable({ args = argv, env = arr { table.unpack(h.env) }, cwd = "/",
      user = setmetatable({ uid = 0, gid = 0 }, OBJ_MT),
      capabilities = setmetatable({ bounding = all, effective = all, permitted = all }, OBJ_MT) }, OBJ_MT)
    local recipe, err = oci.exec_recipe(config, process, st.bundle, { id = st.id })
    if not recipe then return nil, ("%s: %s"):format(where, err) end
    recipe.seccomp, recipe.no_new_privs = false, false
    if next(h.env) == nil then recipe.env = {} end
    local plan, perr0 = exec_plan(recipe)
    if not plan then return nil, ("%s: %s"):format(where, perr0) end
    plan.tty = false
    plan.stdio = { { kind = "data", data = state }, { kind = "file", path = out_file },
                   { kind = "file", path = out_file, append = true } }
    local pid, perr = c.exec(plan, st.pid, st.pid_start, cgroup)
    if not pid then return nil, ("%s: %s"):format(where, tostring(perr)) end
    local code, werr = c.exec_wait(pid, h.timeout)
    local out = (read_file(out_file) or ""):sub(-2048) -- the tail, as run_hook keeps
    os.remove(out_file)
    if not code then return nil, ("%s: %s, %s"):format(where, h.path, werr) end
    if code ~= 0 then return hook_failed(where, h, code, out) end
  end
  return true
end

-- poststart and poststop: a failure is a warning, and the rest goes on
local function run_hooks_warn(st, kind)
  local ok, err = run_hooks(st, kind)
  if not ok then
    io.stderr:write("sandboxlua oci: warning: ", err, "\n")
    log("warning", err)
  end
end

-- kill everything of it and wait (a few seconds) until it is gone
local function destroy(st)
  local c = core_()
  if st.cgroup and read_file(st.cgroup .. "/cgroup.procs") then
    cg_write(st, "cgroup.kill", "1")
  end
  if alive(st) then c.pidfd_kill(st.pid, 9, st.pid_start) end
  for _ = 1, 500 do
    local ev = st.cgroup and cg_read(st, "cgroup.events")
    if not alive(st) and (not ev or ev:match("populated 0")) then break end
    sleep(0.01)
  end
  if st.cgroup and read_file(st.cgroup .. "/cgroup.procs") then
    local ok, err = os.remove(st.cgroup)
    if not ok then return nil, ("remove the cgroup %s: %s"):format(st.cgroup, err) end
  end
  return true
end

local function remove_dir(id)
  local d = dir_of(id)
  for _, n in ipairs(core_().listdir(d) or {}) do os.remove(d .. "/" .. n) end
  os.remove(d)
end

-- flags of a command: spec is { name = "value"|"flag"|"list", alias =
-- canonical }; a "list" flag may come again (o[name] = { values }).  With
-- stop, the first positional argument ends the flags (exec: ID, then the
-- command's own arguments)
local function parse(args, spec, cmd, stop)
  local o, pos = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then
      for j = i + 1, #args do pos[#pos + 1] = args[j] end
      break
    end
    local name, val = a:match("^%-%-?([%w-]+)=(.*)$")
    if not name then name = a:match("^%-%-?([%w-]+)$") end
    if name and a:sub(1, 1) == "-" then
      local kind = spec[name]
      if type(kind) == "string" and spec[kind] then name, kind = kind, spec[kind] end
      if not kind then return nil, ("%s: unknown flag %s"):format(cmd, a) end
      if kind == "flag" then
        o[name] = val == nil or val == "true"
      else
        if val == nil then
          i = i + 1
          val = args[i]
          if val == nil then return nil, ("%s: %s needs a value"):format(cmd, a) end
        end
        if kind == "list" then
          o[name] = o[name] or {}
          table.insert(o[name], val)
        else
          o[name] = val
        end
      end
    elseif stop then
      table.move(args, i, #args, #pos + 1, pos)
      break
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return o, pos
end

local function need_id(pos, cmd, n)
  n = n or 1
  if #pos < 1 then return nil, ("%s: a container ID is needed"):format(cmd) end
  if #pos > n then return nil, ("%s: unexpected argument %q"):format(cmd, pos[n + 1]) end
  if not valid_id(pos[1]) then return nil, ("%s: invalid container ID %q"):format(cmd, pos[1]) end
  return pos[1]
end

local function no_container(id) return die(E_NOENT, 'container "%s" does not exist', id) end

-- the host id that id 0 of a map ("inside outside count" lines) is, or nil
local function host_root(map)
  for line in (map or ""):gmatch("[^\n]+") do
    local inside, outside, count = line:match("^%s*(%d+)%s+(%d+)%s+(%d+)%s*$")
    inside, outside, count = tonumber(inside), tonumber(outside), tonumber(count)
    if inside and inside <= 0 and inside + count > 0 then return math.tointeger(outside - inside) end
  end
  return nil
end

-- --preserve-fds N: the caller's fds 3 .. 2+N, which the command gets as
-- the same numbers; checked before this process opens anything it keeps
-- (its lock), so that none of its own is taken for one of the caller's
local function preserved_fds(o, cmd)
  local v = o["preserve-fds"]
  if v == nil or v == "0" then return nil end
  local n = v:match("^%d+$") and math.tointeger(tonumber(v))
  if not n or n > 64 then
    return nil, ("%s: --preserve-fds: a number of fds from 0 to 64, not %q"):format(cmd, v)
  end
  local fds = {}
  for fd = 3, 2 + n do
    if not core_().fd_open(fd) then
      return nil, ("%s: --preserve-fds %d: fd %d is not open"):format(cmd, n, fd)
    end
    fds[#fds + 1] = fd
  end
  return fds
end

-- create: the container built, its init waiting on exec.fifo.  Returns
-- the state (or nil, code)
local function do_create(id, o)
  local c = core_()
  local sb = require "cgsandbox"
  local pass, ferr = preserved_fds(o, "create")
  if ferr then return nil, die(E_USAGE, "%s", ferr) end
  local bundle = abspath(o.bundle or ".")
  local okr, rerr = mkdir_p(G.root)
  if not okr then return nil, die(E_FAIL, "%s", rerr) end
  local ok, _, en = c.mkdir(dir_of(id), tonumber("711", 8))
  if not ok then
    if en == "EEXIST" then return nil, die(E_STATE, 'container "%s" already exists', id) end
    return nil, die(E_FAIL, "cannot create %s", dir_of(id))
  end
  local lk = lock(id)
  local function undo(code, fmt, ...)
    remove_dir(id)
    unlock(lk)
    return nil, die(code, fmt, ...)
  end
  local config, err = oci.load(bundle)
  if not config then return undo(E_CONFIG, "%s", err) end
  local terminal = type(config.process) == "table" and config.process.terminal == true
  if terminal and not o["console-socket"] then
    return undo(E_CONFIG, "create: process.terminal needs --console-socket (where the console's master goes)")
  end
  if o["console-socket"] and not terminal then
    return undo(E_CONFIG, "create: --console-socket without process.terminal: there is no console to send")
  end
  -- the config as created: exec reads the container's seccomp filter,
  -- namespaces and policy from it, not from a bundle changed since
  local ok_c, cerr = write_atomic(dir_of(id) .. "/config.json", read_file(bundle .. "/config.json") or "")
  if not ok_c then return undo(E_FAIL, "create: save the config: %s", cerr) end
  local policy, perr = oci.policy_for(G.policy)
  if perr then return undo(E_CONFIG, "%s", perr) end
  local recipe
  recipe, err = oci.to_recipe(config, bundle, { id = id })
  if recipe then recipe.pass_fds = pass end
  -- the policy sees a refused config too: its own message comes first
  if policy then recipe, err = oci.apply_policy(policy, config, recipe, err) end
  if not recipe then return undo(E_CONFIG, "%s", err) end
  if not recipe.cgroup then
    -- runc with cgroupfs and no cgroupsPath: a cgroup named after the id
    local parent = c.cgroup_parent()
    if not parent then return undo(E_FAIL, "create: no cgroup parent for the container") end
    recipe.cgroup = { path = parent .. "/" .. id, create = true }
  end
  local hooks = assert(oci.hooks(config)) -- checked by to_recipe
  local pok, plan = pcall(sb.compile, recipe)
  if not pok then return undo(E_CONFIG, "%s", tostring(type(plan) == "table" and plan.msg or plan)) end
  local fifo = dir_of(id) .. "/exec.fifo"
  ok, err = c.mkfifo(fifo, tonumber("600", 8))
  if not ok then return undo(E_FAIL, "%s", err) end
  -- init opens it as the container's root: in a user namespace, the host
  -- ids the maps give root (as runc chowns its exec.fifo)
  local ruid, rgid = host_root(recipe.uid_map), host_root(recipe.gid_map)
  if ruid or rgid then
    ok, err = c.chown(fifo, ruid or 0, rgid or 0)
    if not ok then return undo(E_FAIL, "create: the start fifo: %s", err) end
  end
  local sec, nsec = c.realtime()
  local root = type(config.root) == "table" and config.root.path or "rootfs"
  local st = { ociVersion = config.ociVersion, id = id, pid = 0, status = "creating", bundle = bundle,
               rootfs = root:sub(1, 1) == "/" and root or (bundle .. "/" .. root),
               created = rfc3339(sec, nsec), owner = "", annotations = config.annotations,
               hooks = next(hooks) and hooks or nil }
  save_state(st)
  plan.detached = fifo
  log("debug", "create " .. id .. ": spawning")
  -- prestart and createRuntime: in the runtime's namespaces, the
  -- container's made and its init stopped before pivot_root
  local on_pause
  if hooks.prestart or hooks.createRuntime or hooks.createContainer then
    on_pause = function(pid)
      st.pid, st.pid_start = pid, c.proc_start(pid)
      local okh, herr = run_hooks(st, "prestart")
      if okh then okh, herr = run_hooks(st, "createRuntime") end
      if okh and hooks.createContainer then
        local cg = cgroup_of(pid)
        if not cg then return nil, "hooks.createContainer: the container's cgroup is not found" end
        okh, herr = run_hooks_inside(st, "createContainer", config, cg)
      end
      return okh, herr
    end
  end
  local pid, cgpath, ttyfd = c.create(plan, on_pause)
  if not pid then return undo(E_FAIL, "create %s: %s", id, tostring(cgpath)) end
  st.pid, st.cgroup, st.status = pid, cgpath, "created"
  st.pid_start = c.proc_start(pid)
  if ttyfd then
    ok, err = M.hand_console(ttyfd, o["console-socket"], config.process.consoleSize)
    if not ok then
      destroy(st)
      return undo(E_FAIL, "create: --console-socket: %s", err)
    end
  end
  ok, err = save_state(st)
  if not ok then
    destroy(st)
    return undo(E_FAIL, "create: write the state: %s", err)
  end
  if o["pid-file"] then
    ok, err = write_atomic(abspath(o["pid-file"]), tostring(pid))
    if not ok then
      destroy(st)
      return undo(E_FAIL, "create: --pid-file: %s", err)
    end
  end
  unlock(lk)
  log("debug", ("create %s: pid %d, cgroup %s"):format(id, pid, tostring(cgpath)))
  return st
end

local function do_start(id)
  local lk = lock(id)
  local st = lk and load_state(id)
  if not st then unlock(lk) return nil, no_container(id) end
  local status = status_of(st)
  if status ~= "created" then
    unlock(lk)
    return nil, die(E_STATE, "cannot start a container that is %s", status)
  end
  -- startContainer: in the container, before its command is let go; a
  -- failure stops the container (delete removes it), as the spec says
  if st.hooks and st.hooks.startContainer then
    local text = read_file(dir_of(id) .. "/config.json")
    local config = text and oci.decode(text)
    local okh, herr = nil, "hooks.startContainer: the container's saved config.json is unreadable"
    if config then okh, herr = run_hooks_inside(st, "startContainer", config, st.cgroup) end
    if not okh then
      destroy(st)
      unlock(lk)
      return nil, die(E_FAIL, "start %s: %s", id, herr)
    end
  end
  local fifo = dir_of(id) .. "/exec.fifo"
  local ok, err, en = core_().fifo_start(fifo)
  if not ok then
    unlock(lk)
    if en == "ENXIO" then return nil, die(E_STATE, "cannot start container %s: its init is gone", id) end
    return nil, die(E_FAIL, "start %s: %s", id, err)
  end
  os.remove(fifo)
  st.status = "running"
  save_state(st)
  unlock(lk)
  run_hooks_warn(st, "poststart")
  return st
end

local CMD = {}

function CMD.create(args)
  local o, pos = parse(args, { bundle = "value", b = "bundle", ["pid-file"] = "value", ["console-socket"] = "value",
    ["no-pivot"] = "flag", ["no-new-keyring"] = "flag", ["preserve-fds"] = "value" }, "create")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "create")
  if not id then return die(E_USAGE, "%s", err) end
  local st, code = do_create(id, o)
  return st and 0 or code
end

function CMD.start(args)
  local o, pos = parse(args, {}, "start")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "start")
  if not id then return die(E_USAGE, "%s", err) end
  local st, code = do_start(id)
  return st and 0 or code
end

function CMD.run(args)
  local o, pos = parse(args, { bundle = "value", b = "bundle", ["pid-file"] = "value", ["console-socket"] = "value",
    detach = "flag", d = "detach", keep = "flag", ["no-pivot"] = "flag", ["no-new-keyring"] = "flag",
    ["preserve-fds"] = "value" }, "run")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "run")
  if not id then return die(E_USAGE, "%s", err) end
  local st, code = do_create(id, o)
  if not st then return code end
  local s2
  s2, code = do_start(id)
  if not s2 then
    destroy(st)
    remove_dir(id)
    return code
  end
  if o.detach then return 0 end
  local status = core_().waitpid(st.pid)
  if not o.keep then
    destroy(st)
    run_hooks_warn(st, "poststop")
    remove_dir(id)
  end
  return status or E_FAIL
end

function CMD.state(args)
  local o, pos = parse(args, {}, "state")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "state")
  if not id then return die(E_USAGE, "%s", err) end
  local st = load_state(id)
  if not st then return no_container(id) end
  io.stdout:write(state_json(st), "\n")
  return 0
end

function CMD.kill(args)
  local o, pos = parse(args, { all = "flag", a = "all" }, "kill")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "kill", 2)
  if not id then return die(E_USAGE, "%s", err) end
  local c = core_()
  local sig, serr = c.signum(pos[2] or "TERM")
  if not sig then return die(E_USAGE, "kill: %s", serr) end
  local st = load_state(id)
  if not st then return no_container(id) end
  local status = status_of(st)
  if status == "stopped" then return die(E_STATE, "container not running") end
  if o.all and st.cgroup then
    if sig == 9 then
      local ok, werr = cg_write(st, "cgroup.kill", "1")
      if not ok then return die(E_FAIL, "kill: %s", werr) end
      return 0
    end
    for pid in (cg_read(st, "cgroup.procs") or ""):gmatch("%d+") do
      c.pidfd_kill(tonumber(pid), sig)
    end
    return 0
  end
  local ok, kerr = c.pidfd_kill(st.pid, sig, st.pid_start)
  if not ok then return die(E_FAIL, "kill %s: %s", id, kerr) end
  return 0
end

function CMD.delete(args)
  local o, pos = parse(args, { force = "flag", f = "force" }, "delete")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "delete")
  if not id then return die(E_USAGE, "%s", err) end
  local lk = core_().flock(dir_of(id))
  local st = lk and load_state(id)
  if not st then
    unlock(lk)
    if lk then remove_dir(id) end -- a create that died half way
    if o.force and not lk then return 0 end
    return no_container(id)
  end
  local status = status_of(st)
  if (status == "running" or status == "paused") and not o.force then
    unlock(lk)
    return die(E_STATE, "cannot delete container %s that is not stopped: %s", id, status)
  end
  local ok, derr = destroy(st)
  if not ok then
    unlock(lk)
    return die(E_FAIL, "delete %s: %s", id, derr)
  end
  run_hooks_warn(st, "poststop")
  remove_dir(id)
  unlock(lk)
  return 0
end

function CMD.list(args)
  local o, pos = parse(args, { format = "value", f = "format", quiet = "flag", q = "quiet" }, "list")
  if not o then return die(E_USAGE, "%s", pos) end
  if #pos > 0 then return die(E_USAGE, "list: unexpected argument %q", pos[1]) end
  local ids = core_().listdir(G.root) or {}
  table.sort(ids)
  local rows = {}
  for _, id in ipairs(ids) do
    local st = valid_id(id) and load_state(id)
    if st then rows[#rows + 1] = st end
  end
  if o.quiet then
    for _, st in ipairs(rows) do io.stdout:write(st.id, "\n") end
  elseif o.format == "json" then
    local out = {}
    for _, st in ipairs(rows) do out[#out + 1] = state_json(st) end
    io.stdout:write("[", table.concat(out, ","), "]\n")
  elseif o.format == nil or o.format == "table" then
    io.stdout:write(("%-12s %-8s %-10s %-40s %-30s %s\n"):format("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"))
    for _, st in ipairs(rows) do
      local status = status_of(st)
      io.stdout:write(("%-12s %-8d %-10s %-40s %-30s %s\n"):format(st.id, status == "stopped" and 0 or st.pid,
        status, st.bundle, st.created, st.owner ~= "" and st.owner or "root"))
    end
  else
    return die(E_USAGE, "list: --format is table or json")
  end
  return 0
end

function CMD.ps(args)
  local o, pos = parse(args, { format = "value", f = "format" }, "ps")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "ps")
  if not id then return die(E_USAGE, "%s", err) end
  local st = load_state(id)
  if not st then return no_container(id) end
  local pids = {}
  for p in (cg_read(st, "cgroup.procs") or ""):gmatch("%d+") do pids[#pids + 1] = tonumber(p) end
  if o.format == "json" then
    io.stdout:write("[", table.concat(pids, ","), "]\n")
  elseif o.format == nil or o.format == "table" then
    io.stdout:write("PID CMD\n")
    for _, p in ipairs(pids) do
      local comm = (read_file("/proc/" .. p .. "/comm") or "?\n"):gsub("\n$", "")
      io.stdout:write(p, " ", comm, "\n")
    end
  else
    return die(E_USAGE, "ps: --format is table or json")
  end
  return 0
end

local function freeze(args, cmd, v)
  local o, pos = parse(args, {}, cmd)
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, cmd)
  if not id then return die(E_USAGE, "%s", err) end
  local lk = core_().flock(dir_of(id))
  local st = lk and load_state(id)
  if not st then unlock(lk) return no_container(id) end
  local status = status_of(st)
  local want = v == "1" and "running" or "paused"
  if status ~= want then
    unlock(lk)
    return die(E_STATE, "container %s is %s, not %s", id, status, want)
  end
  local ok, werr = cg_write(st, "cgroup.freeze", v)
  if not ok then unlock(lk) return die(E_FAIL, "%s: cgroup.freeze: %s", cmd, werr) end
  for _ = 1, 200 do
    if (cg_read(st, "cgroup.events") or ""):match("frozen " .. v) then break end
    sleep(0.01)
  end
  unlock(lk)
  return 0
end
function CMD.pause(args) return freeze(args, "pause", "1") end
function CMD.resume(args) return freeze(args, "resume", "0") end

-- exec: a new process in a running container (runc's interface, as
-- conmon and containerd's shim call it).  Flags come before the ID; what
-- follows the ID is the command.
local EXEC_FLAGS = { process = "value", p = "process", ["pid-file"] = "value", detach = "flag", d = "detach",
  ["console-socket"] = "value", tty = "flag", t = "tty", cwd = "value", env = "list", e = "env",
  user = "value", u = "user", cap = "list", c = "cap", ["no-new-privs"] = "flag",
  ["additional-gids"] = "list", g = "additional-gids", ["preserve-fds"] = "value",
  ["process-label"] = "value", apparmor = "value", ["ignore-paused"] = "flag", ["no-subreaper"] = "flag" }

local function parse_exec(args)
  local o, argv = parse(args, EXEC_FLAGS, "exec", true)
  if not o then return nil, argv end
  for _, k in ipairs { "env", "cap", "additional-gids" } do o[k] = o[k] or {} end
  return o, argv
end

-- the process to exec: --process FILE (the whole of it, as runc reads
-- it), else the container's own process with exec's flags over it
local function exec_process(config, o, argv)
  local arr = function(t) return setmetatable(t, ARR_MT) end
  if o.process then
    local text, err = read_file(o.process)
    if not text then return nil, ("exec: --process %s: %s"):format(o.process, err or "cannot read") end
    local p, derr = oci.decode(text, "process.json")
    if not p then return nil, derr end
    return p, "process.json"
  end
  if #argv == 0 then return nil, "exec: a command (ARGS after the ID) or --process is needed" end
  local p = oci.copy(config.process or {})
  setmetatable(p, OBJ_MT)
  p.args = arr(argv)
  p.terminal = o.tty or nil
  if o.cwd then p.cwd = o.cwd end
  if #o.env > 0 then
    local env = arr { table.unpack(p.env or {}) }
    for _, kv in ipairs(o.env) do env[#env + 1] = kv end
    p.env = env
  end
  p.user = setmetatable(oci.copy(p.user or {}), OBJ_MT)
  if o.user then
    local uid, gid = o.user:match("^(%d+):(%d+)$")
    if not uid then uid = o.user:match("^(%d+)$") end
    if not uid then return nil, ("exec: --user %q: expected UID[:GID] (numbers)"):format(o.user) end
    p.user.uid, p.user.gid = tonumber(uid), gid and tonumber(gid) or p.user.gid
  end
  if #o["additional-gids"] > 0 then
    local g = arr {}
    for _, v in ipairs(o["additional-gids"]) do
      if not v:match("^%d+$") then return nil, ("exec: --additional-gids %q: expected a number"):format(v) end
      g[#g + 1] = tonumber(v)
    end
    p.user.additionalGids = g
  end
  if #o.cap > 0 then
    -- into bounding, effective and permitted, as runc adds them; and into
    -- inheritable and ambient where the container keeps those
    local caps = setmetatable(oci.copy(p.capabilities or {}), OBJ_MT)
    for _, set in ipairs { "bounding", "effective", "permitted", "inheritable", "ambient" } do
      local cur = caps[set]
      local always = set == "bounding" or set == "effective" or set == "permitted"
      if always or (cur and #cur > 0) then
        cur = arr { table.unpack(cur or {}) }
        for _, cname in ipairs(o.cap) do
          local n = cname:upper()
          if n:sub(1, 4) ~= "CAP_" then n = "CAP_" .. n end
          cur[#cur + 1] = n
        end
        caps[set] = cur
      end
    end
    p.capabilities = caps
  end
  if o["no-new-privs"] then p.noNewPrivileges = true end
  return p
end

-- the console's master: its size set, sent to the engine's socket, our
-- copy closed
function M.hand_console(fd, socket, size)
  local c = core_()
  local ok, err = true, nil
  if type(size) == "table" and (size.height or 0) > 0 and (size.width or 0) > 0 then
    ok, err = c.set_winsize(fd, size.height, size.width)
  end
  if ok then ok, err = c.send_console(socket, fd) end
  c.close_fd(fd)
  return ok, err
end

function CMD.exec(args)
  local o, argv = parse_exec(args)
  if not o then return die(E_USAGE, "%s", argv) end
  local id = table.remove(argv, 1)
  if not id then return die(E_USAGE, "exec: a container ID is needed") end
  if not valid_id(id) then return die(E_USAGE, "exec: invalid container ID %q", id) end
  local pass, ferr = preserved_fds(o, "exec")
  if ferr then return die(E_USAGE, "%s", ferr) end
  if (o["process-label"] or "") ~= "" or (o.apparmor or "") ~= "" then
    return die(E_CONFIG, "exec: SELinux labels and AppArmor profiles are not supported")
  end
  local st = load_state(id)
  if not st then return no_container(id) end
  local status = status_of(st)
  if status ~= "running" then return die(E_STATE, "cannot exec in a container that is %s", status) end
  if not st.cgroup then return die(E_FAIL, "exec: the container has no cgroup to be born in") end
  local text = read_file(dir_of(id) .. "/config.json")
  local config, err
  if text and text ~= "" then config, err = oci.decode(text)
  else config, err = oci.load(st.bundle) end
  if not config then return die(E_CONFIG, "%s", err) end
  local process, file = exec_process(config, o, argv)
  if not process then return die(type(file) == "string" and file:match("^exec:") and E_USAGE or E_CONFIG, "%s", file) end
  if type(process) == "table" and process.terminal == true and not o["console-socket"] then
    return die(E_CONFIG, "exec: a terminal (--tty, process.terminal) needs --console-socket")
  end
  local recipe
  recipe, err = oci.exec_recipe(config, process, st.bundle, { id = id }, o.process and file or nil)
  if not recipe then return die(E_CONFIG, "%s", err) end
  recipe.pass_fds = pass
  local policy
  policy, err = oci.policy_for(G.policy)
  if err then return die(E_CONFIG, "%s", err) end
  if policy then -- it sees the config with the exec's process in it
    local econfig = oci.copy(config)
    econfig.process = process
    recipe, err = oci.apply_policy(policy, econfig, recipe)
    if not recipe then return die(E_CONFIG, "%s", err) end
  end
  local plan, perr0 = exec_plan(recipe)
  if not plan then return die(E_CONFIG, "%s", perr0) end
  local c = core_()
  local pid, perr, _, hint = c.exec(plan, st.pid, st.pid_start, st.cgroup)
  if not pid then return die(hint or E_FAIL, "exec %s: %s", id, tostring(perr)) end
  local function abandon(what, why) -- the process goes, and we say why
    c.pidfd_kill(pid, 9)
    c.waitpid(pid)
    return die(E_FAIL, "exec: %s: %s", what, why)
  end
  local ttyfd = perr
  if ttyfd then
    local ok, cerr = M.hand_console(ttyfd, o["console-socket"], process.consoleSize)
    if not ok then return abandon("--console-socket", cerr) end
  end
  if o["pid-file"] then
    local ok, werr = write_atomic(abspath(o["pid-file"]), tostring(pid))
    if not ok then return abandon("--pid-file", werr) end
  end
  log("debug", ("exec %s: pid %d"):format(id, pid))
  if o.detach then return 0 end -- our child: our subreaper's once we exit
  local code, werr = c.exec_wait(pid)
  if not code then return die(E_FAIL, "%s", werr) end
  return code
end

-- update's flags, as runc's: name -> { object, field, kind }
local UPDATE_FLAGS = {
  memory = { "memory", "limit", "size" }, ["memory-reservation"] = { "memory", "reservation", "size" },
  ["memory-swap"] = { "memory", "swap", "size" }, ["kernel-memory"] = { "memory", "kernel", "size" },
  ["kernel-memory-tcp"] = { "memory", "kernelTCP", "size" },
  ["cpu-share"] = { "cpu", "shares", "int" }, ["cpu-quota"] = { "cpu", "quota", "int" },
  ["cpu-period"] = { "cpu", "period", "int" }, ["cpu-burst"] = { "cpu", "burst", "int" },
  ["cpu-rt-period"] = { "cpu", "realtimePeriod", "int" }, ["cpu-rt-runtime"] = { "cpu", "realtimeRuntime", "int" },
  ["cpuset-cpus"] = { "cpu", "cpus", "string" }, ["cpuset-mems"] = { "cpu", "mems", "string" },
  ["pids-limit"] = { "pids", "limit", "int" }, ["blkio-weight"] = { "blockIO", "weight", "int" },
}

-- runc's sizes (docker's RAMInBytes): 64m, 64MB, 64MiB are all binary; -1
local function ram_bytes(v)
  if v == "-1" then return -1 end
  local n, u = v:lower():match("^(%d+)([kmgtp]?)i?b?$")
  if not n or (u == "" and v:lower():match("[ib]$") and not v:match("^%d+[bB]$")) then return nil end
  local shift = ({ [""] = 0, k = 10, m = 20, g = 30, t = 40, p = 50 })[u]
  return math.tointeger(tonumber(n)) and (math.tointeger(tonumber(n)) << shift) or nil
end

-- the LinuxResources of update: --resources FILE ("-": stdin), then each
-- flag over it
local function update_resources(o)
  local res = setmetatable({}, OBJ_MT)
  if o.resources then
    local text
    if o.resources == "-" then text = io.stdin:read("a")
    else
      local f, err = io.open(o.resources, "r")
      if not f then return nil, ("update: --resources: %s"):format(err) end
      text = f:read("a")
      f:close()
    end
    local v, err = oci.decode(text or "", o.resources == "-" and "resources (stdin)" or o.resources)
    if v == nil then return nil, "update: " .. err end
    res = v
  end
  for name, where in pairs(UPDATE_FLAGS) do
    local v = o[name]
    if v ~= nil then
      local val
      if where[3] == "size" then val = ram_bytes(v)
      elseif where[3] == "int" then val = math.tointeger(tonumber(v))
      else val = v end
      if val == nil then return nil, ("update: --%s: invalid value %q"):format(name, v) end
      if type(res) == "table" then
        res[where[1]] = res[where[1]] or setmetatable({}, OBJ_MT)
        res[where[1]][where[2]] = val
      end
    end
  end
  return res
end

-- update [--resources FILE|-] [runc's resource flags] ID: the new limits,
-- checked as config.json's linux.resources, written to the live cgroup
function CMD.update(args)
  local spec = { resources = "value", r = "resources" }
  for name in pairs(UPDATE_FLAGS) do spec[name] = "value" end
  spec["l3-cache-schema"], spec["mem-bw-schema"] = "value", "value"
  local o, pos = parse(args, spec, "update")
  if not o then return die(E_USAGE, "%s", pos) end
  local id, err = need_id(pos, "update")
  if not id then return die(E_USAGE, "%s", err) end
  if o["l3-cache-schema"] or o["mem-bw-schema"] then
    return die(E_CONFIG, "update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported")
  end
  local res, rerr = update_resources(o)
  if not res then return die(E_CONFIG, "%s", rerr) end
  local limits, lerr = oci.resources_to_limits(res)
  if not limits then return die(E_CONFIG, "update: %s", lerr) end
  local recipe = require "cgsandbox.recipe"
  local ok, writes = pcall(recipe.compile_cgroup_limits, limits, "update")
  if not ok then
    return die(E_CONFIG, "update: %s", tostring(type(writes) == "table" and (writes.message or writes.msg) or writes))
  end
  local lk = core_().flock(dir_of(id))
  local st = lk and load_state(id)
  if not st then unlock(lk) return no_container(id) end
  local status = status_of(st)
  if status == "stopped" then
    unlock(lk)
    return die(E_STATE, "cannot update container %s: it is stopped", id)
  end
  if not st.cgroup then unlock(lk) return die(E_FAIL, "update %s: it has no cgroup", id) end
  local mem = type(res) == "table" and res.memory
  if type(mem) == "table" and mem.checkBeforeUpdate == true and type(limits.memory) == "number" then
    local cur = tonumber(cg_read(st, "memory.current") or "")
    if cur and limits.memory < cur then
      unlock(lk)
      return die(E_STATE, "update %s: resources.memory.limit: %d is below the current usage %d",
        id, limits.memory, cur)
    end
  end
  -- written as set_limit writes a jail's: a controller the container was
  -- made without is enabled in its parent first
  local cg, cerr = core_().cgroup_open(st.cgroup)
  if not cg then unlock(lk) return die(E_FAIL, "update %s: %s", id, tostring(cerr)) end
  local okw, werr, _, file = require("cgsandbox").write_limits(cg, writes)
  cg:close()
  if not okw then
    unlock(lk)
    return die(E_FAIL, "update %s: %s: %s", id, file or "cgroup", tostring(werr))
  end
  for _, w in ipairs(writes) do log("debug", ("update %s: %s = %s"):format(id, w[1], w[2])) end
  unlock(lk)
  return 0
end

-- the global flags, before the command (runc's)
local function globals(args)
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, val = a:match("^%-%-?([%w-]+)=(.*)$")
    if not name then name = a:match("^%-%-?([%w-]+)$") end
    if not name or a:sub(1, 1) ~= "-" then break end
    local function value()
      if val then return val end
      i = i + 1
      return args[i]
    end
    if name == "root" then G.root = value()
    elseif name == "log" then G.log = value()
    elseif name == "log-format" then G.log_format = value()
    elseif name == "policy" then G.policy = value()
    elseif name == "debug" then G.debug = true
    elseif name == "systemd-cgroup" then
      return nil, die(E_USAGE, "--systemd-cgroup is not supported yet: use cgroupfs (a cgroupsPath that is a path)")
    elseif name == "rootless" then value() -- runc's auto/true/false: ours is decided by the uid
    elseif name == "criu" then value()
    elseif name == "h" or name == "help" then return { "--help" }
    elseif name == "v" or name == "version" then return { "--version" }
    else return nil, die(E_USAGE, "unknown global flag %s", a) end
    if name ~= "debug" and args[i] == nil then return nil, die(E_USAGE, "%s needs a value", a) end
    i = i + 1
  end
  if G.log_format ~= "text" and G.log_format ~= "json" then
    return nil, die(E_USAGE, "--log-format is text or json, not %q", G.log_format)
  end
  G.root = abspath((G.root:gsub("/+$", "")))
  return table.move(args, i, #args, 1, {})
end

function M.main(args)
  local rest0, code = globals(args)
  if not rest0 then return code end
  args = rest0
  if args[1] == "--version" then
    io.stdout:write("sandboxlua ", require("cgsandbox").version, "\nspec: ", oci.VERSION_MAX, "\n")
    return 0
  end
  log("debug", "oci " .. table.concat(args, " "))

  local cmd = args[1]
  if cmd == nil or cmd == "-h" or cmd == "--help" or cmd == "help" then
    io.stdout:write(USAGE)
    return cmd == nil and 2 or 0
  end
  local rest = table.move(args, 2, #args, 1, {})
  if cmd == "spec" then return spec(rest) end
  if cmd == "features" then
    if #rest > 0 then return die(2, "features takes no arguments") end
    io.stdout:write(oci.encode(M.features(), FEATURE_ORDER), "\n")
    return 0
  end
  if CMD[cmd] then return CMD[cmd](rest) end
  local later = { events = true, checkpoint = true, restore = true }
  if later[cmd] then return die(2, "%s is not supported yet (see sandboxlua oci --help)", cmd) end
  return die(2, "unknown command %q (see sandboxlua oci --help)", cmd)
end

return M
