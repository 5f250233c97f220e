-- cgsandbox.oci: an OCI bundle's config.json (runtime spec 1.0-1.2) as a
-- recipe, in pure Lua.  Every field of the spec is either mapped to a
-- recipe field or refused with an error that names it, e.g.
--   config.json: linux.namespaces[4].path: joining an existing mount namespace is not supported yet ...
-- (indices count from 0, as in the JSON and jq).  doc/oci.md has the whole
-- table of fields: what each becomes, or why it is refused.
--
--   local oci = require "cgsandbox.oci"
--   local config, err = oci.load("bundle")           -- config.json decoded
--   local recipe, notes = oci.to_recipe(config, "bundle")
--   recipe = oci.apply_policy(oci.load_policy("/etc/sandboxlua/oci-policy.lua"), config, recipe)
--
-- JSON is Debian's lua-dkjson, in its pure-Lua mode (lpeg is never asked
-- for).  Nothing here spawns or touches the kernel, except reading files.
local units = require "cgsandbox.units"
local recipe_mod = require "cgsandbox.recipe"

local M = {}

M.VERSION_MIN, M.VERSION_MAX = "1.0.0", "1.2.0"
M.DEFAULT_POLICY = "/etc/sandboxlua/oci-policy.lua"

-- JSON objects and arrays keep a marker metatable (so [] and {} stay
-- apart); json null is M.null while decoding, and then dropped (an
-- object's null member is absent, as Go's runtimes read it)
local OBJ = { __jsontype = "object" }
local ARR = { __jsontype = "array" }
M.object_mt, M.array_mt = OBJ, ARR

local dkjson
local function json()
  dkjson = dkjson or require "dkjson"
  return dkjson
end

-- errors: one type of ours, turned into nil, message at the API's edge
local Refusal = {}
local function refuse(path, why)
  error(setmetatable({ msg = "config.json: " .. path .. ": " .. why }, Refusal), 0)
end
local function guard(fn, ...)
  local ok, a, b = pcall(fn, ...)
  if ok then return a, b end
  if getmetatable(a) == Refusal then return nil, a.msg end
  error(a, 0)
end

local function key(path, k)
  if type(k) == "number" then return ("%s[%d]"):format(path, k) end
  if k:match("^[%a_][%w_]*$") then return path == "" and k or (path .. "." .. k) end
  return ("%s[%q]"):format(path, k)
end

local function shown(v)
  if type(v) == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if type(v) == "table" then return getmetatable(v) == ARR and "an array" or "an object" end
  if v == nil then return "nothing" end
  return tostring(v)
end

local function expect(path, what, v)
  refuse(path, ("expected %s, got %s"):format(what, shown(v)))
end

local function is_arr(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if mt == ARR then return true end
  if mt == OBJ then return false end
  return next(v) == nil or rawget(v, 1) ~= nil -- a table a policy or spec wrote
end
local function is_obj(v)
  return type(v) == "table" and getmetatable(v) ~= ARR and (getmetatable(v) == OBJ or not rawget(v, 1))
end

-- fields: name -> true for the keys of an object we read; others are
-- unknown, which the spec says to ignore: we do, and say so in the notes
local function object(v, path, fields, notes)
  if v == nil then return nil end
  if not is_obj(v) then expect(path == "" and "config" or path, "an object", v) end
  if fields then
    local extra = {}
    for k in pairs(v) do
      if type(k) ~= "string" or not fields[k] then extra[#extra + 1] = tostring(k) end
    end
    table.sort(extra)
    for _, k in ipairs(extra) do
      notes[#notes + 1] = ("config.json: %s: unknown field, ignored (as the runtime spec asks)"):format(key(path, k))
    end
  end
  return v
end

-- an array as a Lua list (index 1..n); paths name JSON's index (0-based)
local function array(v, path)
  if v == nil then return {}, 0 end
  if not is_arr(v) then expect(path, "an array", v) end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then expect(path, "an array", v) end
    if k > n then n = k end
  end
  for i = 1, n do
    if v[i] == nil then refuse(("%s[%d]"):format(path, i - 1), "null is not a value here") end
  end
  return v, n
end
local function at(path, i) return ("%s[%d]"):format(path, i - 1) end

local function str(v, path, optional)
  if v == nil and optional then return nil end
  if type(v) ~= "string" then expect(path, "a string", v) end
  if v:find("\0", 1, true) then expect(path, "a string without NUL bytes", v) end
  return v
end
local function bool(v, path)
  if v == nil then return nil end
  if type(v) ~= "boolean" then expect(path, "true or false", v) end
  return v
end
local function int(v, path, min, max)
  if v == nil then return nil end
  local i = math.tointeger(v)
  if not i or (min and i < min) or (max and i > max) then
    expect(path, ("an integer%s"):format(min and max and (" from %d to %d"):format(min, max)
                                        or min and (" >= %d"):format(min) or ""), v)
  end
  return i
end
-- uint64 limits: 2^64-1 (RLIM_INFINITY, "unlimited") arrives as a float
local UINT64_MAX_F = 18446744073709551615.0
local function u64(v, path)
  if v == nil then return nil end
  if type(v) == "number" and v >= UINT64_MAX_F then return "max" end
  return int(v, path, 0)
end
local function strings(v, path)
  local out = {}
  local _, n = array(v, path)
  for i = 1, n or 0 do out[i] = str(v[i], at(path, i)) end
  return out
end
local function nonempty(v)
  if v == nil or v == "" then return false end
  if type(v) == "table" then return next(v) ~= nil end
  return true
end
local function refuse_if(v, path, why)
  if nonempty(v) then refuse(path, why) end
end

local function abs(v, path)
  str(v, path)
  if v:sub(1, 1) ~= "/" then expect(path, "an absolute path", v) end
  for seg in v:gmatch("[^/]+") do
    if seg == ".." then expect(path, 'an absolute path without ".."', v) end
  end
  return v
end

local function join(dir, p)
  if p:sub(1, 1) == "/" then return p end
  if dir == "" or dir == "." then return p end
  return dir:gsub("/+$", "") .. "/" .. p
end

-- the C core, when present, answers what the kernel and libseccomp know
local core_ok, core
local function the_core()
  if core_ok == nil then core_ok, core = pcall(require, "cgsandbox.core") end
  return core_ok and core or nil
end

-- load(bundle_dir [, file]) -> config | nil, "config.json: ..."
function M.decode(text, name)
  name = name or "config.json"
  local obj, pos, err = json().decode(text, 1, json().null, OBJ, ARR)
  if err then
    local what, line, col = err:match("^(.-) at line (%d+), column (%d+)")
    if not what then what, line, col = err:match("^(.-) %(at line (%d+), column (%d+)%)") end
    if what then return nil, ("%s: line %s, column %s: %s"):format(name, line, col, what) end
    return nil, ("%s: %s"):format(name, err)
  end
  local rest = text:find("%S", pos)
  if rest then
    local line = select(2, text:sub(1, rest):gsub("\n", "")) + 1
    return nil, ("%s: line %d: text after the JSON value"):format(name, line)
  end
  -- null members are absent (as Go's runtimes read them); a null inside
  -- an array is an error naming it
  local null = json().null
  if obj == null or type(obj) ~= "table" or getmetatable(obj) ~= OBJ then
    return nil, ("%s: expected a JSON object at the top"):format(name)
  end
  local function clean(v, path)
    for k, x in pairs(v) do
      if x == null then
        if getmetatable(v) == ARR then return ("%s: %s: null is not a value here"):format(name, at(path, k)) end
        v[k] = nil
      elseif type(x) == "table" then
        local e = clean(x, getmetatable(v) == ARR and at(path, k) or key(path, k))
        if e then return e end
      end
    end
  end
  local e = clean(obj, "")
  if e then return nil, e end
  return obj
end

function M.load(bundle)
  local file = join(bundle or ".", "config.json")
  local f, err = io.open(file, "rb")
  if not f then return nil, "config.json: " .. tostring(err) end
  local text = f:read("a")
  f:close()
  return M.decode(text)
end

-- encode(value) -> JSON text (indented, keys in a stable order)
function M.encode(v, order)
  return json().encode(v, { indent = true, keyorder = order })
end

------------------------------------------------------------------------
-- the translation

local NS = { pid = "pid", network = "net", mount = "mount", ipc = "ipc", uts = "uts",
             user = "user", cgroup = "cgroup", time = "time" }

local RLIMITS = {}
for _, n in ipairs { "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                     "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack" } do
  RLIMITS["RLIMIT_" .. n:upper()] = n
end

-- mount options: what each one means for us
local OPT_FLAG = {
  ro = { "ro", true }, rw = { "ro", false }, rro = { "ro", true }, rrw = { "ro", false },
  nosuid = { "nosuid", true }, suid = { "nosuid", false }, rnosuid = { "nosuid", true }, rsuid = { "nosuid", false },
  nodev = { "nodev", true }, dev = { "nodev", false }, rnodev = { "nodev", true }, rdev = { "nodev", false },
  noexec = { "noexec", true }, exec = { "noexec", false }, rnoexec = { "noexec", true }, rexec = { "noexec", false },
}
local OPT_ATIME = {}
for _, o in ipairs { "atime", "noatime", "relatime", "norelatime", "strictatime", "nostrictatime",
                     "diratime", "nodiratime" } do
  OPT_ATIME[o] = true
  OPT_ATIME["r" .. o] = true
end
OPT_ATIME.lazytime, OPT_ATIME.nolazytime = true, true
local OPT_PROP_OK = { private = true, rprivate = true }
local OPT_PROP_NO = { shared = true, rshared = true, slave = true, rslave = true,
                      unbindable = true, runbindable = true }
M.MOUNT_OPTIONS = {} -- those we take (oci features)
for k in pairs(OPT_FLAG) do M.MOUNT_OPTIONS[#M.MOUNT_OPTIONS + 1] = k end
for k in pairs(OPT_ATIME) do M.MOUNT_OPTIONS[#M.MOUNT_OPTIONS + 1] = k end
for k in pairs(OPT_PROP_OK) do M.MOUNT_OPTIONS[#M.MOUNT_OPTIONS + 1] = k end
for _, k in ipairs { "bind", "rbind", "defaults", "tmpcopyup" } do M.MOUNT_OPTIONS[#M.MOUNT_OPTIONS + 1] = k end
table.sort(M.MOUNT_OPTIONS)

local SECCOMP_ACTIONS = { SCMP_ACT_ALLOW = "allow", SCMP_ACT_ERRNO = "errno", SCMP_ACT_KILL = "kill_thread",
                          SCMP_ACT_KILL_THREAD = "kill_thread", SCMP_ACT_KILL_PROCESS = "kill_process",
                          SCMP_ACT_TRAP = "trap", SCMP_ACT_LOG = "log", SCMP_ACT_TRACE = "trace" }
M.SECCOMP_ACTIONS = {}
for k in pairs(SECCOMP_ACTIONS) do M.SECCOMP_ACTIONS[#M.SECCOMP_ACTIONS + 1] = k end
table.sort(M.SECCOMP_ACTIONS)
local SECCOMP_OPS = { SCMP_CMP_NE = "!=", SCMP_CMP_LT = "<", SCMP_CMP_LE = "<=", SCMP_CMP_EQ = "==",
                      SCMP_CMP_GE = ">=", SCMP_CMP_GT = ">", SCMP_CMP_MASKED_EQ = "&=" }
M.SECCOMP_OPERATORS = {}
for k in pairs(SECCOMP_OPS) do M.SECCOMP_OPERATORS[#M.SECCOMP_OPERATORS + 1] = k end
table.sort(M.SECCOMP_OPERATORS)
local SECCOMP_FLAGS = { SECCOMP_FILTER_FLAG_TSYNC = "tsync", SECCOMP_FILTER_FLAG_LOG = "log",
                        SECCOMP_FILTER_FLAG_SPEC_ALLOW = "spec_allow",
                        SECCOMP_FILTER_FLAG_TSYNC_ESRCH = "tsync_esrch" }
M.SECCOMP_FLAGS = {}
for k in pairs(SECCOMP_FLAGS) do M.SECCOMP_FLAGS[#M.SECCOMP_FLAGS + 1] = k end
table.sort(M.SECCOMP_FLAGS)
-- libseccomp's architecture names
local SECCOMP_ARCHES = {}
for _, a in ipairs { "x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel",
                     "mipsel64", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc",
                     "parisc64", "riscv64", "loongarch64", "m68k", "sheb", "sh" } do
  SECCOMP_ARCHES["SCMP_ARCH_" .. a:upper()] = a
end
M.SECCOMP_ARCHES = SECCOMP_ARCHES
M.NAMESPACES = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" }

-- sets of capability names, lower case without cap_
local function capset(v, path, known)
  local set, list = {}, {}
  for i, c in ipairs(strings(v, path)) do
    local n = c:lower():gsub("^cap_", "")
    if not c:match("^CAP_[%u%d_]+$") then expect(at(path, i), 'a capability name like "CAP_KILL"', c) end
    if known and not known[n] then refuse(at(path, i), ("unknown capability %s"):format(c)) end
    if not set[n] then set[n] = true; list[#list + 1] = n end
  end
  return set, list
end
-- the five sets, as the config gives them (an absent set is empty); what
-- the kernel would refuse is refused here, naming the config's field
local CAPSETS = { "bounding", "effective", "permitted", "inheritable", "ambient" }
local function translate_caps(p, path, r, notes, opts)
  local caps = object(p.capabilities, path, { bounding = true, effective = true, permitted = true,
                                               inheritable = true, ambient = true }, notes)
  if not caps then r.capabilities = {} return end
  local known = opts.cap_names
  if known == nil and the_core() then known = core.cap_names() end
  local sets, lists = {}, {}
  for _, s in ipairs(CAPSETS) do sets[s], lists[s] = capset(caps[s], path .. "." .. s, known) end
  local function within(a, bs, why)
    for i, c in ipairs(strings(caps[a], path .. "." .. a)) do
      local n = c:lower():gsub("^cap_", "")
      for _, b in ipairs(bs) do
        if not sets[b][n] then
          refuse(at(path .. "." .. a, i), ("%s is not in %s: %s"):format(c, b, why))
        end
      end
    end
  end
  within("effective", { "permitted" }, "the kernel keeps the effective set within the permitted one")
  within("inheritable", { "bounding" }, "the kernel raises into the inheritable set only what the bounding set holds")
  -- an ambient capability must be permitted and inheritable: the kernel
  -- refuses to raise one that is not, and runc goes on without it
  local amb, dropped = {}, {}
  for _, c in ipairs(lists.ambient) do
    if sets.permitted[c] and sets.inheritable[c] then amb[#amb + 1] = c
    else dropped[#dropped + 1] = "CAP_" .. c:upper() end
  end
  if #dropped > 0 then
    notes[#notes + 1] = ("config.json: %s.ambient: %s not raised: an ambient capability must be permitted "
      .. "and inheritable (the kernel refuses it, and runc goes on without it)"):format(path, table.concat(dropped, ", "))
  end
  lists.ambient = amb
  local out = {}
  for _, s in ipairs(CAPSETS) do table.sort(lists[s]); out[s] = lists[s] end
  r.capabilities = out
end

local function translate_process(p, r, notes, opts)
  local path = "process"
  object(p, path, { terminal = true, consoleSize = true, user = true, args = true, commandLine = true,
                    env = true, cwd = true, capabilities = true, rlimits = true, noNewPrivileges = true,
                    apparmorProfile = true, selinuxLabel = true, oomScoreAdj = true, scheduler = true,
                    ioPriority = true, execCPUAffinity = true }, notes)
  refuse_if(p.commandLine, path .. ".commandLine", "a Windows field: not for a Linux container")
  local args = strings(p.args, path .. ".args")
  if #args == 0 or args[1] == "" then refuse(path .. ".args", "expected a command (a non-empty array)") end
  r.command = args
  if bool(p.terminal, path .. ".terminal") then r.tty = true end
  if p.consoleSize ~= nil then -- the runtime sets it on the console (TIOCSWINSZ)
    local cs = object(p.consoleSize, path .. ".consoleSize", { height = true, width = true }, notes)
    int(cs.height, path .. ".consoleSize.height", 0, 65535)
    int(cs.width, path .. ".consoleSize.width", 0, 65535)
  end
  local env = {}
  for i, kv in ipairs(strings(p.env, path .. ".env")) do
    local k, v = kv:match("^([^=]*)=(.*)$")
    if not k then expect(at(path .. ".env", i), '"NAME=value"', kv) end
    if not k:match("^[%a_][%w_]*$") then
      refuse(at(path .. ".env", i), ("the name %q is not one a recipe's environment takes "
        .. "(letters, digits and _, not starting with a digit)"):format(k))
    end
    env[k] = v -- a later one wins, as in runc
  end
  r.env = env
  r.cwd = abs(p.cwd or "/", path .. ".cwd")

  local u = object(p.user, path .. ".user", { uid = true, gid = true, umask = true,
                                              additionalGids = true, username = true }, notes) or {}
  refuse_if(u.username, path .. ".user.username", "a Windows field: not for a Linux container")
  local uid = int(u.uid or 0, path .. ".user.uid", 0, 4294967294)
  local gid = int(u.gid or 0, path .. ".user.gid", 0, 4294967294)
  r.user = { uid = uid, gid = gid }
  if u.additionalGids ~= nil then
    local _, n = array(u.additionalGids, path .. ".user.additionalGids")
    r.user.groups = {}
    for i = 1, n do
      r.user.groups[i] = int(u.additionalGids[i], at(path .. ".user.additionalGids", i), 0, 4294967294)
    end
  end
  if u.umask ~= nil then r.umask = int(u.umask, path .. ".user.umask", 0, 511) end

  translate_caps(p, path .. ".capabilities", r, notes, opts)

  local nnp = bool(p.noNewPrivileges, path .. ".noNewPrivileges")
  if not nnp then
    notes[#notes + 1] = "config.json: process.noNewPrivileges: not true: sandboxlua always sets "
      .. "no_new_privs (a setuid bit never raises privileges)"
  end

  if p.rlimits ~= nil then
    local rl = {}
    local _, n = array(p.rlimits, path .. ".rlimits")
    for i = 1, n do
      local pp = at(path .. ".rlimits", i)
      local e = object(p.rlimits[i], pp, { type = true, hard = true, soft = true }, notes)
      local t = str(e.type, pp .. ".type")
      local name = RLIMITS[t]
      if not name then refuse(pp .. ".type", ("unknown rlimit %s"):format(shown(t))) end
      if rl[name] then refuse(pp .. ".type", ("%s given twice"):format(t)) end
      local soft, hard = u64(e.soft, pp .. ".soft"), u64(e.hard, pp .. ".hard")
      if soft == nil or hard == nil then refuse(pp, "expected both soft and hard") end
      if hard ~= "max" and (soft == "max" or soft > hard) then refuse(pp, "the soft limit exceeds the hard limit") end
      rl[name] = { soft = soft == "max" and "unlimited" or soft, hard = hard == "max" and "unlimited" or hard }
    end
    if next(rl) then r.limits = r.limits or {}; r.limits.rlimits = rl end
  end

  refuse_if(p.apparmorProfile, path .. ".apparmorProfile", "AppArmor profiles are not supported")
  refuse_if(p.selinuxLabel, path .. ".selinuxLabel", "SELinux labels are not supported")
  if p.oomScoreAdj ~= nil then r.oom_score_adj = int(p.oomScoreAdj, path .. ".oomScoreAdj", -1000, 1000) end
  refuse_if(p.scheduler, path .. ".scheduler", "scheduling policies are not supported yet")
  refuse_if(p.ioPriority, path .. ".ioPriority", "I/O priorities are not supported yet")
  refuse_if(p.execCPUAffinity, path .. ".execCPUAffinity", "CPU affinity at exec is not supported yet")
  return uid
end

local function size_of(v, path)
  local n = units.size(v)
  if n == nil then expect(path, 'a size like "65536k" or "64m"', v) end
  return n
end

-- one mount of config.mounts -> a recipe mount (or nil where it is
-- covered: sandboxlua's /dev, /dev/pts in it, a masked cgroupfs)
local function translate_mount(m, path, bundle, st, notes)
  object(m, path, { destination = true, type = true, source = true, options = true,
                    uidMappings = true, gidMappings = true }, notes)
  local dst = abs(m.destination, path .. ".destination")
  dst = dst:gsub("(.)/+$", "%1")
  local ty = str(m.type, path .. ".type", true)
  local src = str(m.source, path .. ".source", true)
  refuse_if(m.uidMappings, path .. ".uidMappings", "id-mapped mounts are not supported yet")
  refuse_if(m.gidMappings, path .. ".gidMappings", "id-mapped mounts are not supported yet")
  local flags, data, bind, rec, atime = {}, {}, false, false, {}
  for i, o in ipairs(strings(m.options, path .. ".options")) do
    local op = at(path .. ".options", i)
    if o == "bind" or o == "rbind" then
      bind, rec = true, rec or o == "rbind"
    elseif OPT_FLAG[o] then
      flags[OPT_FLAG[o][1]] = OPT_FLAG[o][2]
    elseif OPT_ATIME[o] then
      if o ~= "relatime" and o ~= "rrelatime" then atime[#atime + 1] = o end
    elseif OPT_PROP_OK[o] or o == "defaults" then -- mounts are private already
    elseif OPT_PROP_NO[o] then
      refuse(op, ("mount propagation %q is not supported: the jail's mounts are private"):format(o))
    elseif o:find("=", 1, true) or (o == "newinstance" and ty == "devpts") then
      data[#data + 1] = o
    elseif o == "tmpcopyup" and ty == "tmpfs" then
      flags.copyup = true -- runc's and crun's extension: podman's --tmpfs, --read-only
    else
      refuse(op, ("the mount option %q is not supported"):format(o))
    end
  end
  local function note_atime()
    if #atime > 0 then
      notes[#notes + 1] = ("config.json: %s.options: %s ignored: the kernel's default (relatime) applies")
        :format(path, table.concat(atime, ","))
    end
  end
  local function no_data(kind)
    if #data > 0 then refuse(path .. ".options", ("%s options (%s) are not supported on a %s mount")
      :format(kind, table.concat(data, ","), kind)) end
  end

  if bind or ty == "bind" then -- type "bind" alone binds too, as in runc and crun
    src = str(src, path .. ".source")
    if src == "" then expect(path .. ".source", "a path to bind", src) end
    no_data("data")
    note_atime()
    local out = { "bind", join(bundle, src), dst, ro = flags.ro or false, rec = rec }
    if flags.nosuid == false then out.nosuid = false end
    if flags.nodev == false then out.nodev = false end
    if flags.noexec then out.noexec = true end
    if dst == "/dev" then st.dev = false end
    return out
  end
  if ty == nil or ty == "" or ty == "none" then
    refuse(path .. ".type", "expected a file system type, or bind/rbind in options")
  end
  if ty == "tmpfs" then
    if dst == "/dev" then
      -- sandboxlua's own /dev: the default devices (null, zero, full,
      -- random, urandom, tty), ptmx, devpts at pts, a tmpfs at shm; the
      -- tmpfs's size and mode as the config gives them
      st.dev = true
      st.own_dev = true
      for _, d in ipairs(data) do
        local k, v = d:match("^([^=]+)=(.*)$")
        if k == "size" and not v:match("%%$") then
          st.dev_opts = st.dev_opts or {}
          st.dev_opts.size = size_of(v, path .. ".options")
        elseif k == "mode" and units.mode(v) then
          st.dev_opts = st.dev_opts or {}
          st.dev_opts.mode = v
        else
          notes[#notes + 1] = ("config.json: %s.options: %s not applied: sandboxlua's /dev takes size and mode")
            :format(path, d)
        end
      end
      return nil
    end
    local out = { "tmpfs", dst, ro = flags.ro or false, copyup = flags.copyup }
    local rest = {}
    for _, d in ipairs(data) do
      local k, v = d:match("^([^=]+)=(.*)$")
      if k == "size" then
        if v:match("%%$") then refuse(path .. ".options", "a tmpfs size in % of memory is not supported") end
        out.size = size_of(v, path .. ".options")
      elseif k == "mode" then
        if not units.mode(v) then expect(path .. ".options", 'a mode like "mode=1777"', d) end
        out.mode = v
      elseif k == "uid" or k == "gid" or k == "nr_inodes" or k == "nr_blocks" or k == "huge"
          or k == "mpol" or k == "inode64" then
        rest[#rest + 1] = d
      else
        refuse(path .. ".options", ("the tmpfs option %q is not supported"):format(d))
      end
    end
    if #rest > 0 then out.options = table.concat(rest, ",") end
    if flags.nodev == false then out.nodev = false end
    if flags.noexec then out.noexec = true end
    note_atime()
    return out
  elseif ty == "devpts" then
    if dst ~= "/dev/pts" or not st.dev then
      refuse(path, "devpts is mounted only as sandboxlua's /dev/pts (below a tmpfs /dev)")
    end
    -- sandboxlua's /dev/pts: newinstance,ptmxmode=0666,mode=0620, and the
    -- config's gid and mode
    for _, d in ipairs(data) do
      local k, v = d:match("^([^=]+)=(.*)$")
      if d == "newinstance" or d == "ptmxmode=0666" then -- as sandboxlua's
      elseif k == "gid" and v:match("^%d+$") then
        st.dev_opts = st.dev_opts or {}
        st.dev_opts.pts_gid = int(tonumber(v), path .. ".options", 0, 4294967294)
      elseif k == "mode" and units.mode(v) and units.mode(v) <= 511 then
        st.dev_opts = st.dev_opts or {}
        st.dev_opts.pts_mode = v
      else
        notes[#notes + 1] = ("config.json: %s.options: %s not applied: sandboxlua's /dev/pts is "
          .. "newinstance,ptmxmode=0666 with the config's gid and mode"):format(path, d)
      end
    end
    return nil
  elseif ty == "mqueue" then
    no_data("mqueue")
    return { "mqueue", dst }
  elseif ty == "proc" then
    if flags.ro then refuse(path .. ".options", "a read-only proc is not supported (readonlyPaths can cover its parts)") end
    local out = { "proc", dst }
    if #data > 0 then out.options = table.concat(data, ",") end
    return out
  elseif ty == "sysfs" then
    no_data("sysfs")
    return { "sysfs", dst, ro = flags.ro or false }
  elseif (ty == "cgroup" or ty == "cgroup2") and st.cgroupns then
    -- the container's own cgroup (its namespace's root), read-only:
    -- writable is delegation, which a config cannot ask for
    if not flags.ro then
      notes[#notes + 1] = ("config.json: %s: the cgroup file system is mounted read-only"):format(path)
    end
    return { "cgroup", dst }
  elseif ty == "cgroup" or ty == "cgroup2" then
    -- without a cgroup namespace a cgroup2 mount would show the host's tree
    st.masked[#st.masked + 1] = dst
    notes[#notes + 1] = ("config.json: %s: a cgroup file system without a cgroup namespace is not mounted: %s is masked "
      .. "(an empty read-only tmpfs), as sandboxlua's own default"):format(path, dst)
    return nil
  end
  refuse(path .. ".type", ("mounting a file system of type %q is not supported"):format(ty))
end

-- linux.resources.devices (ordered allow/deny rules, default deny, as
-- runc's device program) -> the allow-list of a recipe
local function dev_num(v, path, max)
  if v == nil or v == -1 then return "*" end
  return int(v, path, 0, max)
end
local function translate_device_rules(v, path, notes)
  local allows = {}
  local _, n = array(v, path)
  for i = 1, n do
    local pp = at(path, i)
    local d = object(v[i], pp, { allow = true, type = true, major = true, minor = true, access = true }, notes)
    local allow = bool(d.allow, pp .. ".allow")
    if allow == nil then refuse(pp .. ".allow", "expected true or false") end
    local t = str(d.type or "a", pp .. ".type")
    if t ~= "a" and t ~= "c" and t ~= "b" then expect(pp .. ".type", '"a", "c" or "b"', t) end
    local acc = str(d.access or "rwm", pp .. ".access")
    if acc == "" or acc:find("[^rwm]") then expect(pp .. ".access", 'letters of "rwm"', acc) end
    local rule = { t, dev_num(d.major, pp .. ".major", 0xfff), dev_num(d.minor, pp .. ".minor", 0xfffff), acc }
    if allow then
      allows[#allows + 1] = rule
    elseif t == "a" and rule[2] == "*" and rule[3] == "*" and #acc == 3 then
      allows = {} -- deny all: the default
    else
      -- a denial of one node: it may take back an earlier allow exactly
      local kept = {}
      for _, a in ipairs(allows) do
        local overlap = (a[1] == "a" or t == "a" or a[1] == t)
                        and (a[2] == "*" or rule[2] == "*" or a[2] == rule[2])
                        and (a[3] == "*" or rule[3] == "*" or a[3] == rule[3])
                        and a[4]:find("[" .. acc .. "]")
        if not overlap then
          kept[#kept + 1] = a
        elseif a[1] == t and a[2] == rule[2] and a[3] == rule[3] then
          local left = a[4]:gsub("[" .. acc .. "]", "")
          if left ~= "" then kept[#kept + 1] = { a[1], a[2], a[3], left } end
        else
          refuse(pp, "a denial inside an earlier, wider allow is not supported: the device "
            .. "allow-list has no exceptions")
        end
      end
      allows = kept
    end
  end
  return allows
end

local function translate_resources(res, path, r, notes, st)
  object(res, path, { devices = true, memory = true, cpu = true, pids = true, blockIO = true,
                      hugepageLimits = true, network = true, rdma = true, unified = true }, notes)
  local l = r.limits or {}
  local function set(k, v) l[k] = v end
  if res.devices ~= nil then st.device_rules = translate_device_rules(res.devices, path .. ".devices", notes) end

  local mem = object(res.memory, path .. ".memory", { limit = true, reservation = true, swap = true,
    kernel = true, kernelTCP = true, swappiness = true, disableOOMKiller = true, useHierarchy = true,
    checkBeforeUpdate = true }, notes)
  if mem then
    local mp = path .. ".memory"
    -- as runc: 0 is unset, -1 is no limit
    local function lim(v, p)
      if v == nil or v == 0 then return nil end
      if v == -1 then return "max" end
      return int(v, p, 1)
    end
    local limit = lim(mem.limit, mp .. ".limit")
    if limit then set("memory", limit) end
    local resv = lim(mem.reservation, mp .. ".reservation")
    if resv then set("memory_low", resv) end
    if mem.swap ~= nil and mem.swap ~= 0 then
      -- v1's memory+swap as v2's swap alone, as runc converts it
      local sw = lim(mem.swap, mp .. ".swap")
      if sw == "max" then set("swap", "max")
      elseif limit == nil or limit == "max" then
        refuse(mp .. ".swap", "a memory+swap limit needs a memory limit")
      elseif sw < limit then
        refuse(mp .. ".swap", "memory+swap is below the memory limit")
      else
        set("swap", sw - limit)
      end
    end
    refuse_if(mem.kernel, mp .. ".kernel", "kernel memory limits do not exist in cgroup v2")
    refuse_if(mem.kernelTCP, mp .. ".kernelTCP", "kernel TCP memory limits do not exist in cgroup v2")
    if mem.swappiness ~= nil then refuse(mp .. ".swappiness", "swappiness does not exist in cgroup v2") end
    if bool(mem.disableOOMKiller, mp .. ".disableOOMKiller") then
      refuse(mp .. ".disableOOMKiller", "disabling the OOM killer does not exist in cgroup v2")
    end
    if bool(mem.useHierarchy, mp .. ".useHierarchy") == false then
      refuse(mp .. ".useHierarchy", "cgroup v2 is always hierarchical")
    end
    bool(mem.checkBeforeUpdate, mp .. ".checkBeforeUpdate") -- about update: nothing at create
  end

  local cpu = object(res.cpu, path .. ".cpu", { shares = true, quota = true, period = true, burst = true,
    realtimeRuntime = true, realtimePeriod = true, cpus = true, mems = true, idle = true }, notes)
  if cpu then
    local cp = path .. ".cpu"
    local shares = int(cpu.shares, cp .. ".shares", 0, 262144)
    if shares and shares ~= 0 then
      if shares < 2 then expect(cp .. ".shares", "shares from 2 to 262144", cpu.shares) end
      set("cpu_shares", shares)
    end
    local quota, period = int(cpu.quota, cp .. ".quota", -1), int(cpu.period, cp .. ".period", 0)
    if period == 0 then period = nil end
    if period and (period < 1000 or period > 1000000) then
      expect(cp .. ".period", "a period from 1000 to 1000000 (us)", cpu.period)
    end
    if quota == 0 then quota = nil end
    if quota == -1 then set("cpu", "max")
    elseif quota then
      if quota < 1000 then expect(cp .. ".quota", "a quota of at least 1000 us", cpu.quota) end
      set("cpu", quota / (period or units.CPU_PERIOD))
    elseif period then
      set("cpu", "max")
    end
    if period and l.cpu then set("cpu_period", period / 1e6) end
    if cpu.burst ~= nil then
      local u = l.unified or {}
      u["cpu.max.burst"] = tostring(int(cpu.burst, cp .. ".burst", 0))
      l.unified = u
    end
    refuse_if(cpu.realtimeRuntime, cp .. ".realtimeRuntime", "real-time CPU time does not exist in cgroup v2")
    refuse_if(cpu.realtimePeriod, cp .. ".realtimePeriod", "real-time CPU time does not exist in cgroup v2")
    local cs = {}
    if nonempty(cpu.cpus) then cs.cpus = str(cpu.cpus, cp .. ".cpus") end
    if nonempty(cpu.mems) then cs.mems = str(cpu.mems, cp .. ".mems") end
    for k, v in pairs(cs) do
      if not units.cpulist(v) then expect(cp .. "." .. k, 'a list like "0-3" or "0,2"', v) end
    end
    if next(cs) then set("cpuset", cs) end
    if cpu.idle ~= nil then
      local u = l.unified or {}
      u["cpu.idle"] = tostring(int(cpu.idle, cp .. ".idle", 0, 1))
      l.unified = u
    end
  end

  local pids = object(res.pids, path .. ".pids", { limit = true }, notes)
  if pids and pids.limit ~= nil and pids.limit ~= 0 then
    if pids.limit == -1 then set("pids", "max")
    else
      -- the container's processes, and sandboxlua's init besides
      set("pids", int(pids.limit, path .. ".pids.limit", 1) + 1)
    end
  end

  local bio = object(res.blockIO, path .. ".blockIO", { weight = true, leafWeight = true, weightDevice = true,
    throttleReadBpsDevice = true, throttleWriteBpsDevice = true, throttleReadIOPSDevice = true,
    throttleWriteIOPSDevice = true }, notes)
  if bio then
    local bp = path .. ".blockIO"
    local io_ = {}
    if bio.weight ~= nil and bio.weight ~= 0 then
      -- v1's blkio weight (10-1000) as v2's io.weight (1-10000), as runc
      local w = int(bio.weight, bp .. ".weight", 10, 1000)
      io_.weight = 1 + (w - 10) * 9999 // 990
    end
    if bio.leafWeight ~= nil then refuse(bp .. ".leafWeight", "leaf weights do not exist in cgroup v2") end
    local function devkey(e, p)
      return ("%d:%d"):format(int(e.major, p .. ".major", 0), int(e.minor, p .. ".minor", 0))
    end
    local _, n = array(bio.weightDevice, bp .. ".weightDevice")
    for i = 1, n do
      local p = at(bp .. ".weightDevice", i)
      local e = object(bio.weightDevice[i], p, { major = true, minor = true, weight = true, leafWeight = true }, notes)
      if e.leafWeight ~= nil then refuse(p .. ".leafWeight", "leaf weights do not exist in cgroup v2") end
      if e.weight ~= nil then
        local k = devkey(e, p)
        io_[k] = io_[k] or {}
        io_[k].weight = 1 + (int(e.weight, p .. ".weight", 10, 1000) - 10) * 9999 // 990
      end
    end
    for f, k in pairs { throttleReadBpsDevice = "rbps", throttleWriteBpsDevice = "wbps",
                        throttleReadIOPSDevice = "riops", throttleWriteIOPSDevice = "wiops" } do
      local _, m = array(bio[f], bp .. "." .. f)
      for i = 1, m do
        local p = at(bp .. "." .. f, i)
        local e = object(bio[f][i], p, { major = true, minor = true, rate = true }, notes)
        local dk = devkey(e, p)
        local rate = u64(e.rate, p .. ".rate")
        if rate == nil then refuse(p .. ".rate", "expected a rate") end
        io_[dk] = io_[dk] or {}
        io_[dk][k] = (rate == 0 or rate == "max") and "max" or rate -- 0: no limit, as in v1
      end
    end
    if next(io_) then set("io", io_) end
  end

  if res.hugepageLimits ~= nil then
    local hp = path .. ".hugepageLimits"
    local _, n = array(res.hugepageLimits, hp)
    local h = {}
    for i = 1, n do
      local p = at(hp, i)
      local e = object(res.hugepageLimits[i], p, { pageSize = true, limit = true }, notes)
      local ps = str(e.pageSize, p .. ".pageSize")
      if not ps:match("^%d+[KMG]B$") then expect(p .. ".pageSize", 'a page size like "2MB" or "1GB"', ps) end
      h[ps] = u64(e.limit, p .. ".limit") or refuse(p .. ".limit", "expected a limit")
    end
    if next(h) then set("hugetlb", h) end
  end
  if res.network ~= nil then
    refuse_if(res.network.classID, path .. ".network.classID", "net_cls does not exist in cgroup v2")
    refuse_if(res.network.priorities, path .. ".network.priorities", "net_prio does not exist in cgroup v2")
  end
  if res.rdma ~= nil then
    local rp = path .. ".rdma"
    object(res.rdma, rp)
    local rd = {}
    for dev, e in pairs(res.rdma) do
      local p = key(rp, dev)
      object(e, p, { hcaHandles = true, hcaObjects = true }, notes)
      rd[dev] = { hca_handle = int(e.hcaHandles, p .. ".hcaHandles", 0),
                  hca_object = int(e.hcaObjects, p .. ".hcaObjects", 0) }
    end
    if next(rd) then set("rdma", rd) end
  end
  if res.unified ~= nil then
    local up = path .. ".unified"
    object(res.unified, up)
    local u = l.unified or {}
    for k, v in pairs(res.unified) do
      local p = key(up, k)
      if type(k) ~= "string" or not k:match("^[%a_]+%.[%w_.]+$") or k:find("..", 1, true) then
        expect(p, 'a cgroup file like "memory.high"', k)
      end
      u[k] = str(v, p)
    end
    if next(u) then l.unified = u end
  end
  if next(l) then r.limits = l end
end

-- linux.seccomp -> the recipe's seccomp rules form, rule for rule (as
-- runc builds it): names libseccomp does not know are skipped
local function translate_seccomp(s, path, r, notes)
  object(s, path, { defaultAction = true, defaultErrnoRet = true, architectures = true, flags = true,
                    listenerPath = true, listenerMetadata = true, syscalls = true }, notes)
  local function action(v, p)
    local a = str(v, p)
    if a == "SCMP_ACT_NOTIFY" then
      refuse(p, "SCMP_ACT_NOTIFY needs a seccomp listener (listenerPath), which is not supported")
    end
    local x = SECCOMP_ACTIONS[a]
    if not x then expect(p, "one of " .. table.concat(M.SECCOMP_ACTIONS, ", "), a) end
    return x
  end
  local function value(act, v, p)
    if v == nil then return nil end
    if act ~= "errno" and act ~= "trace" then refuse(p, "goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE") end
    return int(v, p, 0, 4095)
  end
  refuse_if(s.listenerPath, path .. ".listenerPath", "seccomp notification (SCMP_ACT_NOTIFY) is not supported")
  refuse_if(s.listenerMetadata, path .. ".listenerMetadata", "seccomp notification (SCMP_ACT_NOTIFY) is not supported")
  local def = action(s.defaultAction, path .. ".defaultAction")
  local out = { rules = {}, default = def, skip_unknown = true }
  local dv = value(def, s.defaultErrnoRet, path .. ".defaultErrnoRet")
  if def == "errno" or def == "trace" then out.default_errno = dv or 1 end
  local arches = {}
  for i, a in ipairs(strings(s.architectures, path .. ".architectures")) do
    local x = SECCOMP_ARCHES[a]
    if not x then expect(at(path .. ".architectures", i), 'an architecture like "SCMP_ARCH_X86_64"', a) end
    arches[#arches + 1] = x
  end
  if #arches > 0 then out.architectures = arches end
  local flags = {}
  for i, f in ipairs(strings(s.flags, path .. ".flags")) do
    local x = SECCOMP_FLAGS[f]
    if not x then
      refuse(at(path .. ".flags", i), ("the filter flag %s is not supported (%s are)"):format(shown(f),
        table.concat(M.SECCOMP_FLAGS, ", ")))
    end
    flags[#flags + 1] = x
  end
  if #flags > 0 then out.flags = flags end
  local _, n = array(s.syscalls, path .. ".syscalls")
  for i = 1, n do
    local p = at(path .. ".syscalls", i)
    local e = object(s.syscalls[i], p, { names = true, action = true, errnoRet = true, args = true }, notes)
    local names = strings(e.names, p .. ".names")
    if #names == 0 then refuse(p .. ".names", "expected at least one name") end
    for j, name in ipairs(names) do
      if not name:match("^[%w_]+$") then expect(at(p .. ".names", j), 'a system call name like "openat"', name) end
    end
    local act = action(e.action, p .. ".action")
    local rule = { names = names, action = act }
    local v = value(act, e.errnoRet, p .. ".errnoRet")
    if act == "errno" then rule.errno = v or 1 elseif act == "trace" then rule.value = v or 1 end
    local _, na = array(e.args, p .. ".args")
    if na > 6 then refuse(p .. ".args", "a system call has 6 arguments: more than 6 conditions") end
    if na > 0 then
      rule.args = {}
      for j = 1, na do
        local ap = at(p .. ".args", j)
        local c = object(e.args[j], ap, { index = true, value = true, valueTwo = true, op = true }, notes)
        local op = str(c.op, ap .. ".op")
        local o = SECCOMP_OPS[op]
        if not o then expect(ap .. ".op", "one of " .. table.concat(M.SECCOMP_OPERATORS, ", "), op) end
        local idx = int(c.index, ap .. ".index", 0, 5)
        if idx == nil then refuse(ap .. ".index", "missing") end
        local a1 = int(c.value or 0, ap .. ".value", 0)
        local a2 = int(c.valueTwo or 0, ap .. ".valueTwo", 0)
        -- SCMP_CMP_MASKED_EQ: value is the mask, valueTwo what the masked
        -- argument must equal (as runc passes them to libseccomp)
        if o == "&=" then rule.args[j] = { idx, o, a1, a2 }
        else
          if a2 ~= 0 then refuse(ap .. ".valueTwo", ("goes only with SCMP_CMP_MASKED_EQ, not %s"):format(op)) end
          rule.args[j] = { idx, o, a1 }
        end
      end
    end
    out.rules[#out.rules + 1] = rule
  end
  r.seccomp = out
end

-- the kinds, in the order of a container's life
M.HOOK_KINDS = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" }
local HOOK_FIELDS = {}
for _, k in ipairs(M.HOOK_KINDS) do HOOK_FIELDS[k] = true end

-- hooks -> { kind = { { path, args, env, timeout }, ... } }
local function translate_hooks(v, notes)
  local out = {}
  local hooks = object(v, "hooks", HOOK_FIELDS, notes)
  if not hooks then return out end
  for _, kind in ipairs(M.HOOK_KINDS) do
    local list, n = array(hooks[kind], "hooks." .. kind)
    local got = {}
    for i = 1, n do
      local p = at("hooks." .. kind, i)
      local h = object(list[i], p, { path = true, args = true, env = true, timeout = true }, notes)
      if not h then expect(p, "an object", list[i]) end
      local path = abs(h.path, p .. ".path")
      local args = h.args ~= nil and strings(h.args, p .. ".args") or { path }
      local env = h.env ~= nil and strings(h.env, p .. ".env") or {}
      for j, e in ipairs(env) do
        if not e:find("=", 1, true) then expect(at(p .. ".env", j), 'a "NAME=value" string', e) end
      end
      local timeout = h.timeout ~= nil and int(h.timeout, p .. ".timeout", 1, 86400) or nil
      got[#got + 1] = { path = path, args = args, env = env, timeout = timeout }
    end
    if #got > 0 then out[kind] = got end
  end
  return out
end

-- hooks(config) -> { kind = { { path, args, env, timeout } } } | nil, message
function M.hooks(config)
  return guard(function() return translate_hooks(config.hooks, {}) end)
end

local function cgroup_path(v, path, opts)
  local cp = str(v, path)
  if cp == "" then return nil end
  if cp:match("^[^/:]*:[^:]*:[^:]*$") then
    refuse(path, ('the systemd form "slice:prefix:name" needs --systemd-cgroup, which is not '
      .. "supported yet"))
  end
  for seg in cp:gmatch("[^/]+") do
    if seg == ".." or seg == "." then expect(path, 'a cgroup path without "." or ".."', cp) end
  end
  local base
  if cp:sub(1, 1) == "/" then
    base = opts.cgroup_mountpoint or (the_core() and core.cgroup_mountpoint()) or "/sys/fs/cgroup"
  else
    base = opts.cgroup_parent or (the_core() and core.cgroup_parent())
    if not base then refuse(path, "no cgroup parent for a relative cgroupsPath here") end
  end
  return (base:gsub("/+$", "") .. "/" .. cp:gsub("^/+", ""):gsub("/+$", ""))
end

local function host_hostname()
  local f = io.open("/proc/sys/kernel/hostname")
  local h = f and f:read("l")
  if f then f:close() end
  if h and #h > 0 and #h <= 64 and h:match("^[%w][%w%-%.]*$") then return h end
end

local function translate(c, bundle, opts)
  local notes = {}
  object(c, "", { ociVersion = true, root = true, mounts = true, process = true, hostname = true,
                  domainname = true, hooks = true, annotations = true, linux = true, windows = true,
                  solaris = true, vm = true, zos = true }, notes)
  if type(c) ~= "table" then expect("config", "an object", c) end
  local v = str(c.ociVersion, "ociVersion")
  local major, minor = v:match("^(%d+)%.(%d+)%.%d+")
  if not major then expect("ociVersion", 'a version like "1.0.2"', v) end
  if major ~= "1" then refuse("ociVersion", ("version %s is not supported (1.0 to 1.2 are)"):format(v)) end
  if tonumber(minor) > 2 then
    notes[#notes + 1] = ("config.json: ociVersion: %s is newer than 1.2: fields of later versions are ignored"):format(v)
  end
  for _, os_ in ipairs { "windows", "solaris", "vm", "zos" } do
    if c[os_] ~= nil then refuse(os_, "not a Linux container's field") end
  end

  local r = { name = opts.id or "oci", proc = false, sys = false, dev = true }
  local st = { masked = {}, dev = true, own_dev = false }

  -- root
  local root = object(c.root, "root", { path = true, readonly = true }, notes)
  if not root then refuse("root", "missing: the container's root file system is required") end
  local rp = str(root.path, "root.path")
  if rp == "" then expect("root.path", "a directory", rp) end
  r.rootfs = join(bundle, rp)
  r.root_readonly = bool(root.readonly, "root.readonly") == true
  -- as runc does: missing mount points are made in the rootfs (resolved in it)
  r.root_mountpoints = true

  -- process
  if c.process == nil then refuse("process", "missing: nothing to run") end
  translate_process(c.process, r, notes, opts)

  -- linux
  local lx = object(c.linux, "linux", {
    namespaces = true, uidMappings = true, gidMappings = true, timeOffsets = true, devices = true,
    cgroupsPath = true, resources = true, rootfsPropagation = true, seccomp = true, sysctl = true,
    maskedPaths = true, readonlyPaths = true, mountLabel = true, intelRdt = true, personality = true,
    memoryPolicy = true, netDevices = true }, notes) or {}

  local ns, seen, joined = {}, {}, {}
  local _, n = array(lx.namespaces, "linux.namespaces")
  for i = 1, n do
    local p = at("linux.namespaces", i)
    local e = object(lx.namespaces[i], p, { type = true, path = true }, notes)
    local t = str(e.type, p .. ".type")
    if not NS[t] then expect(p .. ".type", "one of " .. table.concat(M.NAMESPACES, ", "), t) end
    if seen[t] then refuse(p .. ".type", ("the %s namespace is listed twice"):format(t)) end
    seen[t] = true
    if nonempty(e.path) then
      abs(e.path, p .. ".path")
      if NS[t] ~= "net" and NS[t] ~= "ipc" and NS[t] ~= "uts" and NS[t] ~= "pid" then
        refuse(p .. ".path", ("joining an existing %s namespace is not supported yet (network, ipc, uts "
          .. "and pid namespaces are joined by path)"):format(t))
      end
      r.join = r.join or {}
      r.join[NS[t]] = e.path -- opened and checked (NS_GET_NSTYPE) when the container is created
      joined[t] = true
    else
      ns[#ns + 1] = NS[t]
    end
  end
  if not seen.mount then
    refuse("linux.namespaces", "a mount namespace is required: sandboxlua always builds the container's own mount table")
  end
  if not seen.pid then
    refuse("linux.namespaces", "a pid namespace is required: sandboxlua's init is the container's pid 1")
  end
  r.namespaces = ns
  st.cgroupns = seen.cgroup

  local function idmap(v, p)
    local lines = {}
    local _, m = array(v, p)
    for i = 1, m do
      local pp = at(p, i)
      local e = object(v[i], pp, { containerID = true, hostID = true, size = true }, notes)
      lines[i] = ("%d %d %d"):format(int(e.containerID, pp .. ".containerID", 0, 4294967294),
                                     int(e.hostID, pp .. ".hostID", 0, 4294967294),
                                     int(e.size, pp .. ".size", 1, 4294967295))
    end
    return m > 0 and table.concat(lines, "\n") or nil
  end
  for _, f in ipairs { { "uidMappings", "uid_map" }, { "gidMappings", "gid_map" } } do
    local m = idmap(lx[f[1]], "linux." .. f[1])
    if m and not seen.user then refuse("linux." .. f[1], "id mappings need a user namespace") end
    r[f[2]] = m
  end
  if lx.timeOffsets ~= nil then
    object(lx.timeOffsets, "linux.timeOffsets")
    for clock, o in pairs(lx.timeOffsets) do
      local p = key("linux.timeOffsets", clock)
      object(o, p, { secs = true, nanosecs = true }, notes)
      if (o.secs or 0) ~= 0 or (o.nanosecs or 0) ~= 0 then
        refuse(p, "clock offsets in a time namespace are not supported yet")
      end
    end
  end

  -- hostname, domainname
  local hn = str(c.hostname, "hostname", true)
  if nonempty(hn) then
    if not seen.uts then refuse("hostname", "setting the host name needs a uts namespace") end
    if joined.uts then
      refuse("hostname", "the uts namespace is joined by path: its name is its own (shared), not set here")
    end
    r.hostname = hn
  elseif seen.uts and not joined.uts then
    r.hostname = host_hostname() -- a new uts namespace starts with the host's name
  end
  local dn = str(c.domainname, "domainname", true)
  if nonempty(dn) then
    if not seen.uts then refuse("domainname", "setting the NIS domain name needs a uts namespace") end
    if #dn > 64 or not dn:match("^[%w][%w%-%._]*$") then
      expect("domainname", "a NIS domain name (letters, digits, '-', '_', '.'; up to 64)", dn)
    end
    r.domainname = dn
  end

  -- mounts
  local mounts = {}
  local _, nm = array(c.mounts, "mounts")
  for i = 1, nm do
    local m = translate_mount(c.mounts[i], at("mounts", i), bundle, st, notes)
    if m then mounts[#mounts + 1] = m end
  end
  r.mounts = mounts
  r.dev = st.dev
  if st.dev and st.dev_opts then r.dev = st.dev_opts end

  -- devices: nodes (linux.devices) and the allow-list (resources.devices)
  local devices = {}
  local _, nd = array(lx.devices, "linux.devices")
  for i = 1, nd do
    local p = at("linux.devices", i)
    local d = object(lx.devices[i], p, { type = true, path = true, major = true, minor = true,
                                         fileMode = true, uid = true, gid = true }, notes)
    local t = str(d.type, p .. ".type")
    if t == "u" then t = "c" end
    if t == "p" then refuse(p .. ".type", "fifos are not supported as devices") end
    if t ~= "c" and t ~= "b" then expect(p .. ".type", '"c", "b", "u" or "p"', t) end
    local dp = abs(d.path, p .. ".path")
    if not dp:match("^/dev/.") then refuse(p .. ".path", "a node is made in the container's /dev: a path below /dev") end
    if not r.dev then refuse(p .. ".path", "nodes are made in sandboxlua's /dev, and /dev is a bind mount here") end
    if (d.uid or 0) ~= 0 or (d.gid or 0) ~= 0 then
      refuse(p, "a node's owner other than root is not supported yet")
    end
    -- podman passes the host node's whole st_mode (0o20666): the type
    -- bits, when there, must be the node's type
    local mode = int(d.fileMode or 438, p .. ".fileMode", 0, 0xffff)
    local fmt = mode & 0xf000
    if fmt ~= 0 and fmt ~= (t == "b" and 0x6000 or 0x2000) then
      refuse(p .. ".fileMode", ("the file type bits (0%o) are not those of a %s device"):format(fmt, t))
    end
    devices[#devices + 1] = { t, int(d.major, p .. ".major", 0, 0xfff), int(d.minor, p .. ".minor", 0, 0xfffff),
                              "rwm", path = dp, mode = mode & 4095 }
  end
  if lx.resources ~= nil then translate_resources(lx.resources, "linux.resources", r, notes, st) end
  for _, a in ipairs(st.device_rules or {}) do devices[#devices + 1] = a end
  if #devices > 0 then r.devices = devices end

  if lx.cgroupsPath ~= nil then
    local p = cgroup_path(lx.cgroupsPath, "linux.cgroupsPath", opts)
    if p then r.cgroup = { path = p, create = true } end -- its parents too, as runc makes them
  end

  if lx.seccomp ~= nil then translate_seccomp(lx.seccomp, "linux.seccomp", r, notes)
  else r.seccomp = false end

  r.masked_paths = {}
  for i, p in ipairs(strings(lx.maskedPaths, "linux.maskedPaths")) do
    r.masked_paths[#r.masked_paths + 1] = abs(p, at("linux.maskedPaths", i))
  end
  for _, p in ipairs(st.masked) do r.masked_paths[#r.masked_paths + 1] = p end
  r.readonly_paths = {}
  for i, p in ipairs(strings(lx.readonlyPaths, "linux.readonlyPaths")) do
    r.readonly_paths[i] = abs(p, at("linux.readonlyPaths", i))
  end

  if nonempty(lx.sysctl) then
    object(lx.sysctl, "linux.sysctl")
    local ks = {}
    for k in pairs(lx.sysctl) do ks[#ks + 1] = k end
    table.sort(ks)
    local need = { net = "network", ipc = "ipc", uts = "uts" }
    local have = { net = seen.network, ipc = seen.ipc, uts = seen.uts }
    local out = {}
    for _, k in ipairs(ks) do
      local p = key("linux.sysctl", k)
      local v = str(lx.sysctl[k], p)
      if not k:match("^[%w_][%w_%-%.%/@:]*$") or k:find("..", 1, true) or k:find("//", 1, true)
         or k:find("/%.") then
        expect(p, 'a sysctl name like "net.ipv4.ip_forward"', k)
      end
      local ns = recipe_mod.sysctl_namespace((k:gsub("/", ".")))
      if not ns then
        refuse(p, "not a namespaced sysctl (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, "
          .. "kernel.hostname, kernel.domainname): writing it would change the host")
      end
      if not have[ns] then refuse(p, ("this sysctl belongs to the %s namespace, and the container has none of its own")
        :format(need[ns])) end
      if v:find("\0", 1, true) then expect(p, "a value without NUL bytes", v) end
      out[k] = v
    end
    r.sysctl = out
  end
  local prop = str(lx.rootfsPropagation, "linux.rootfsPropagation", true)
  if nonempty(prop) and prop ~= "private" and prop ~= "rprivate" then
    refuse("linux.rootfsPropagation", ("%q is not supported: the container's mounts are private"):format(prop))
  end
  refuse_if(str(lx.mountLabel, "linux.mountLabel", true), "linux.mountLabel", "SELinux labels are not supported")
  refuse_if(lx.intelRdt, "linux.intelRdt", "Intel RDT is not supported")
  if lx.personality ~= nil then
    local pe = object(lx.personality, "linux.personality", { domain = true, flags = true }, notes)
    local d = str(pe.domain, "linux.personality.domain")
    if d ~= "LINUX" and d ~= "LINUX32" then expect("linux.personality.domain", '"LINUX" or "LINUX32"', d) end
    if d == "LINUX32" then r.personality = "linux32" end
    refuse_if(pe.flags, "linux.personality.flags", "personality flags are not supported yet")
  end
  refuse_if(lx.memoryPolicy, "linux.memoryPolicy", "NUMA memory policies are not supported yet")
  refuse_if(lx.netDevices, "linux.netDevices", "moving network devices in is not supported yet")

  -- hooks: checked here, run by the runtime (M.hooks gives them)
  translate_hooks(c.hooks, notes)

  -- annotations: for the policy (M.apply_policy sees the whole config)
  if c.annotations ~= nil then
    object(c.annotations, "annotations")
    for k, a in pairs(c.annotations) do str(a, key("annotations", k)) end
  end
  return r, notes
end

-- policy_for(file) -> the site policy: file's, else the default file's
-- when it exists, else nil (no policy); nil, message when it fails to load
function M.policy_for(file)
  if file == nil then
    local f = io.open(M.DEFAULT_POLICY, "r")
    if not f then return nil end
    f:close()
    file = M.DEFAULT_POLICY
  end
  return M.load_policy(file)
end

-- to_recipe(config, bundle_dir, opts) -> recipe, notes | nil, "config.json: <field>: <why>"
-- notes: the lines where sandboxlua does more than the config asks (never
-- less), e.g. no_new_privs always.  opts: id (the recipe's name),
-- cgroup_mountpoint, cgroup_parent, cap_names (set of lower-case names),
-- the C core answers those it leaves out.
function M.to_recipe(config, bundle, opts)
  return guard(translate, config, bundle or ".", opts or {})
end

-- resources_to_limits(res) -> limits, notes | nil, "resources.<field>: <why>":
-- a LinuxResources object (`update --resources`) as a recipe's limits,
-- translated as config.json's linux.resources is
function M.resources_to_limits(res)
  local limits, notes = guard(function()
    if not is_obj(res) then expect("resources", "an object", res) end
    local r, notes, st = {}, {}, {}
    translate_resources(res, "resources", r, notes, st)
    if st.device_rules then
      refuse("resources.devices", "changing a running container's device rules is not supported yet")
    end
    return r.limits or {}, notes
  end)
  if not limits then return nil, (notes:gsub("^config%.json: ", "")) end
  return limits, notes
end

------------------------------------------------------------------------
-- the site policy

-- a deep copy, metatables of JSON values fresh: a policy's changes reach
-- nothing of the caller's
local function copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local t = {}
  seen[v] = t
  for k, x in next, v do t[copy(k, seen)] = copy(x, seen) end
  local mt = getmetatable(v)
  if mt == ARR or mt == OBJ then setmetatable(t, { __jsontype = mt.__jsontype }) end
  return t
end
M.copy = copy

-- exec_recipe(config, process, bundle, opts, file) -> recipe, notes | nil,
-- message: the container's recipe (its config.json) with `process` (an
-- OCI process object, e.g. exec's --process file) in place of its own,
-- read by the same code as config.json's process.  With file, errors in
-- the process name it and the field inside it ("process.json: user.uid:
-- ..."); without, they read as config.json's ("config.json: process.args").
function M.exec_recipe(config, process, bundle, opts, file)
  local c = copy(config)
  c.process = process
  local r, notes = guard(translate, c, bundle or ".", opts or {})
  if not r and file then
    notes = notes:gsub("^config%.json: process%.", file .. ": ", 1)
                 :gsub("^config%.json: process: ", file .. ": ", 1)
  end
  return r, notes
end

-- load_policy(file) -> function | nil, message
function M.load_policy(file)
  local chunk, err = loadfile(file, "t")
  if not chunk then return nil, "policy: " .. tostring(err) end
  local ok, fn = pcall(chunk)
  if not ok then return nil, ("policy %s: %s"):format(file, tostring(fn)) end
  if type(fn) ~= "function" then
    return nil, ("policy %s: expected the file to return a function(config, recipe), got %s"):format(file, type(fn))
  end
  return fn
end

-- apply_policy(policy, config, recipe[, refusal]) -> recipe | nil, message
-- for the engine's user.  policy: a function or a file name; it gets
-- copies of the config and the recipe, and returns the recipe to run or
-- nil, why.  When the translation refused the config (recipe nil,
-- refusal its message), the policy still sees it: its own refusal is the
-- one shown (`podman run --privileged` meets the site's rule, not the
-- first field sandboxlua lacks); whatever else it returns, the
-- translation's refusal stands.
function M.apply_policy(policy, config, recipe, refusal)
  local name = "policy"
  if type(policy) == "string" then
    name = "policy " .. policy
    local fn, err = M.load_policy(policy)
    if not fn then return nil, err end
    policy = fn
  end
  if type(policy) ~= "function" then return nil, "policy: expected a function(config, recipe)" end
  local ok, res, why = pcall(policy, copy(config), copy(recipe), refusal)
  if not ok then
    return nil, ("%s failed: %s"):format(name, type(res) == "string" and res or tostring(res))
  end
  if recipe == nil then
    if (res == nil or res == false) and why ~= nil and why ~= refusal then return nil, tostring(why) end
    return nil, refusal or "no recipe"
  end
  if res == nil or res == false then
    if why == nil then return nil, "refused by the site policy" end
    return nil, tostring(why)
  end
  if type(res) ~= "table" then
    return nil, ("%s returned %s: expected a recipe table, or nil and a message"):format(name, type(res))
  end
  return res
end

------------------------------------------------------------------------
-- the default config (sandboxlua oci spec), as runc spec writes it

local function arr(t) return setmetatable(t, ARR) end
local function obj(t) return setmetatable(t, OBJ) end

function M.default_config(rootless, uid, gid)
  local caps = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" }
  local function mnt(dst, ty, src, o) return obj { destination = dst, type = ty, source = src, options = o and arr(o) } end
  local c = obj {
    ociVersion = "1.0.2",
    process = obj {
      terminal = true, user = obj { uid = 0, gid = 0 }, args = arr { "sh" },
      env = arr { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" },
      cwd = "/",
      capabilities = obj { bounding = arr(caps), effective = arr { table.unpack(caps) },
                           permitted = arr { table.unpack(caps) } },
      rlimits = arr { obj { type = "RLIMIT_NOFILE", hard = 1024, soft = 1024 } },
      noNewPrivileges = true,
    },
    root = obj { path = "rootfs", readonly = true },
    hostname = "sandboxlua",
    mounts = arr {
      mnt("/proc", "proc", "proc"),
      mnt("/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" }),
      mnt("/dev/pts", "devpts", "devpts", { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620" }),
      mnt("/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" }),
      mnt("/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" }),
      rootless and mnt("/sys", "none", "/sys", { "rbind", "nosuid", "noexec", "nodev", "ro" })
               or mnt("/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" }),
    },
    linux = obj {
      namespaces = arr {},
      maskedPaths = arr { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                          "/proc/scsi", "/sys/fs/cgroup" },
      readonlyPaths = arr { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
    },
  }
  for _, t in ipairs(rootless and { "pid", "ipc", "uts", "mount", "user" }
                     or { "pid", "network", "ipc", "uts", "mount" }) do
    c.linux.namespaces[#c.linux.namespaces + 1] = obj { type = t }
  end
  if rootless then
    c.linux.uidMappings = arr { obj { containerID = 0, hostID = uid or 0, size = 1 } }
    c.linux.gidMappings = arr { obj { containerID = 0, hostID = gid or 0, size = 1 } }
  else
    c.linux.resources = obj { devices = arr { obj { allow = false, access = "rwm" } } }
  end
  return c
end

M.KEY_ORDER = { "ociVersion", "process", "terminal", "user", "uid", "gid", "args", "env", "cwd",
                "capabilities", "bounding", "effective", "inheritable", "permitted", "ambient",
                "rlimits", "type", "hard", "soft", "noNewPrivileges", "root", "path", "readonly",
                "hostname", "mounts", "destination", "source", "options", "linux", "uidMappings",
                "gidMappings", "containerID", "hostID", "size", "resources", "devices", "allow",
                "access", "namespaces", "maskedPaths", "readonlyPaths" }

return M
