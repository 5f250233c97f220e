-- The recipe layer: validate a recipe table completely, then compile it into
-- the flat plan the C core executes.  Nothing here touches the kernel: a bad
-- recipe is rejected, with the field's path and what was expected, before
-- any cgroup, namespace or process exists.
local units = require "cgsandbox.units"

local M = {}

-- a compiled plan has a type of its own: run_plan takes nothing else
M.Plan = { __name = "cgsandbox.plan" }

-- recipe errors are values of their own type, so a host can tell them from
-- bugs (exit 2 vs a traceback)
local RecipeError = {}
RecipeError.__index = RecipeError
RecipeError.__tostring = function(e) return e.message end
M.RecipeError = RecipeError

-- a string as it can be shown on one readable line: quoted, with control
-- characters, quotes and bytes beyond ASCII escaped
local ESC = { ["\n"] = "\\n", ["\t"] = "\\t", ['"'] = '\\"', ["\\"] = "\\\\" }
local function quoted(s)
  -- UTF-8 text stays as it is; other bytes beyond ASCII are escaped
  return '"' .. (s:gsub(utf8.len(s) and '[%c"\\]' or '[%c"\\\128-\255]', function(c)
    return ESC[c] or ("\\x%02x"):format(c:byte())
  end)) .. '"'
end
M.quoted = quoted

-- the path of a field named by a key the user wrote
local function key_path(path, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return path .. "." .. k end
  if type(k) == "string" then return path .. "[" .. quoted(k) .. "]" end
  return path .. "[" .. tostring(k) .. "]"
end

-- hint: what is wrong with this value, when "expected ..." does not say it
local function fail(path, expected, got, hint)
  local shown
  if got == nil then
    shown = "nothing"
  elseif type(got) == "string" then
    shown = quoted(got)
  elseif type(got) == "table" then
    shown = "a table"
  else
    shown = tostring(got)
  end
  error(setmetatable({ message = ("%s: expected %s, got %s%s"):format(path, expected, shown,
                                                                     hint and (": " .. hint) or ""),
                       field = path }, RecipeError), 0)
end
M.fail = fail

local function failmsg(path, msg)
  error(setmetatable({ message = path .. ": " .. msg, field = path }, RecipeError), 0)
end

local DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
M.DEFAULT_NAMESPACES = { "pid", "mount", "uts", "ipc", "net", "cgroup" }
local KNOWN_NS = { pid = true, mount = true, uts = true, ipc = true, net = true,
                   cgroup = true, user = true, time = true }

-- like the OCI runtime defaults
M.DEFAULT_MASKED = {
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
  "/proc/interrupts", "/proc/config.gz", "/sys/firmware", "/sys/devices/virtual/powercap",
  "/sys/kernel/debug", "/sys/kernel/security", "/sys/fs/cgroup",
}
M.DEFAULT_READONLY = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

-- Over the host's own root, these directories are private, empty tmpfs
-- unless the recipe mounts something there or names them in host_paths:
-- they are where host sockets, home directories and scratch data live.
M.HOST_PRIVATE = { ["/tmp"] = "1777", ["/run"] = "1777", ["/var/tmp"] = "1777",
                   ["/home"] = "0755", ["/root"] = "0700", ["/srv"] = "0755",
                   ["/mnt"] = "0755", ["/media"] = "0755" }
local HOST_PRIVATE_ORDER = { "/tmp", "/run", "/var/tmp", "/home", "/root", "/srv", "/mnt", "/media" }
-- and the command runs as nobody there (a 0600 file of the host's root is
-- not the jail's to read) unless the recipe says user, or the jail has a
-- user namespace (rootless: it is the caller, who cannot read those either)
M.HOST_ROOT_USER = 65534
-- captured output is kept in memory: at most 1 TiB per stream (the plan
-- reader's bound too)
M.OUTPUT_MAX = 2^40
-- pids.max counts the jail's init: below 2, the command cannot start
M.PIDS_MIN = 2

-- the nodes of the minimal /dev, and the console's (ptmx, the pts slaves):
-- the device allow-list every jail with a cgroup starts from
local function dev(t, maj, min, acc, name)
  return { type = t, major = maj, minor = min, access = acc, name = name }
end
M.DEFAULT_DEVICES = {
  dev("c", 1, 3, 7, "null"), dev("c", 1, 5, 7, "zero"), dev("c", 1, 7, 7, "full"),
  dev("c", 1, 8, 7, "random"), dev("c", 1, 9, 7, "urandom"), dev("c", 5, 0, 7, "tty"),
  dev("c", 5, 2, 6, "ptmx"),
}
for major = 136, 143 do M.DEFAULT_DEVICES[#M.DEFAULT_DEVICES + 1] = dev("c", major, -1, 6, "pts") end

local compile_dev_options -- below
local TOP = {
  name = true, command = true, rootfs = true, root_readonly = true, root_switch = true,
  env = true, env_inherit = true, cwd = true, hostname = true, user = true,
  namespaces = true, network = true, limits = true, mounts = true, proc = true,
  dev = true, sys = true, masked_paths = true, readonly_paths = true,
  capabilities = true, seccomp = true, umask = true, stdio = true, cgroup = true,
  uid_map = true, gid_map = true, tty = true, root_nodev = true, devices = true,
  host_paths = true, sysctl = true, oom_score_adj = true, domainname = true, personality = true,
  no_new_privs = true, root_mountpoints = true, join = true, pass_fds = true,
  on_start = true, on_exit = true, on_oom = true, on_timeout = true, on_sample = true,
  sample = true,
}
local LIMITS = {
  memory = true, memory_high = true, memory_low = true, memory_min = true, swap = true,
  oom_group = true, cpu = true, cpu_period = true, cpu_shares = true, cpu_weight = true, cpuset = true, pids = true, io = true,
  hugetlb = true, rdma = true, misc = true, unified = true,
  wall = true, cpu_time = true, output = true, rlimits = true, optional = true,
}
-- the cgroup v2 controllers a limit can name
M.CONTROLLERS = { cpuset = true, cpu = true, io = true, memory = true, hugetlb = true,
                  pids = true, rdma = true, misc = true }
local RLIMITS = { as = "size", core = "size", cpu = "count", data = "size", fsize = "size",
                  locks = "count", memlock = "size", msgqueue = "size", nice = "count",
                  nofile = "count", nproc = "count", rss = "size", rtprio = "count",
                  rttime = "count", sigpending = "count", stack = "size" }

-- A recipe is the user's data: it is copied raw (next) before anything
-- reads it, so no __index, __pairs or __len of theirs runs during
-- validation (a field a metatable would give is not seen), and every list
-- is bounded.
local MAX_LIST = 65536
local MAX_VALUES, MAX_DEPTH = 1000000, 32

local function raw_copy(v, path)
  local seen, n = {}, 0
  local function copy(x, depth)
    if type(x) ~= "table" then return x end
    if seen[x] then return seen[x] end
    if depth > MAX_DEPTH then failmsg(path, ("tables nested more than %d deep"):format(MAX_DEPTH)) end
    local t = {}
    seen[x] = t
    for k, val in next, x do
      n = n + 1
      if n > MAX_VALUES then failmsg(path, ("more than %d values in all"):format(MAX_VALUES)) end
      t[copy(k, depth + 1)] = copy(val, depth + 1)
    end
    return t
  end
  return copy(v, 0)
end

local function check_keys(t, allowed, path)
  for k in next, t do
    if type(k) ~= "string" or not allowed[k] then
      if math.type(k) ~= "integer" then
        local names = {}
        for n in pairs(allowed) do if type(n) == "string" then names[#names + 1] = n end end
        table.sort(names)
        failmsg(key_path(path, k), "unknown field (known: " .. table.concat(names, ", ") .. ")")
      end
    end
  end
end

local function abspath(v, path)
  if type(v) ~= "string" or v:sub(1, 1) ~= "/" or v:find("\0", 1, true) then
    fail(path, "an absolute path", v)
  end
  for seg in v:gmatch("[^/]+") do
    if seg == ".." then fail(path, "an absolute path without \"..\"", v) end
  end
  return v
end

local function hostpath(v, path)
  if type(v) ~= "string" or v == "" or v:find("\0", 1, true) then
    fail(path, "a path", v)
  end
  return v
end

local function typed(v, ty, path, what)
  if type(v) ~= ty then fail(path, what or ("a " .. ty), v) end
  return v
end

local function optbool(v, def, path)
  if v == nil then return def end
  return typed(v, "boolean", path)
end

-- a plain copy of the list v: integer keys 1..n, no hole, at most max
local function list(v, path, what, max)
  typed(v, "table", path, what)
  local n, top = 0, 0
  for k in next, v do
    if math.type(k) ~= "integer" or k < 1 then fail(path, what, v) end
    n = n + 1
    if k > top then top = k end
    if n > (max or MAX_LIST) then failmsg(path, ("more than %d items"):format(max or MAX_LIST)) end
  end
  if top ~= n then failmsg(path, ("a list without holes (item %d is missing)"):format(
    (function() for i = 1, top do if rawget(v, i) == nil then return i end end end)())) end
  local out = {}
  for i = 1, n do out[i] = rawget(v, i) end
  return out
end

local function no_nul(x, path)
  if x:find("\0", 1, true) then fail(path, "a string without NUL bytes", x) end
  return x
end

local function list_of_strings(v, path)
  local out = list(v, path, "a list of strings")
  for i, x in ipairs(out) do
    if type(x) ~= "string" then fail(("%s[%d]"):format(path, i), "a string", x) end
    no_nul(x, ("%s[%d]"):format(path, i))
  end
  return out
end

-- system call names as the kernel's tables spell them (libseccomp knows
-- which exist: that check comes with the policy's compile)
local function syscall_names(v, path)
  local out = list_of_strings(v, path)
  for i, x in ipairs(out) do
    if not x:match("^[%w_]+$") then fail(("%s[%d]"):format(path, i), "a system call name like \"openat\"", x) end
  end
  return out
end

-- the size of a tmpfs (or an overlay's): at least a byte, since the kernel
-- takes size=0 as no limit at all
local function tmpfs_size(v, path)
  local r, what, hint = units.size(v, false, 1)
  if r == nil and units.size(v) == 0 then hint = "tmpfs takes size=0 as no limit at all: leave size out for that" end
  if r == nil then fail(path, what, v, hint) end
  return r
end

local function unit(fn, v, path, ...)
  local r, what, hint = fn(v, ...)
  if r == nil then fail(path, what, v, hint) end
  return r
end

-- { "c", 10, 200, "rwm", path = "/dev/net/tun", mode = "0666" } or
-- { type = "b", major = 7, minor = "*", access = "r" }
local DEVICE_KEYS = { type = true, major = true, minor = true, access = true, path = true, mode = true }
local function compile_device(d, path)
  typed(d, "table", path, 'a device rule like { "c", 10, 200, "rw" }')
  check_keys(d, DEVICE_KEYS, path)
  local t = d.type or d[1]
  if t ~= "c" and t ~= "b" and t ~= "a" then fail(path .. ".type", '"c" (character), "b" (block) or "a" (any)', t) end
  local function num(v, p, max)
    if v == nil or v == "*" then return -1 end
    if math.type(v) ~= "integer" or v < 0 or v > max then fail(p, ("a number from 0 to %d, or \"*\""):format(max), v) end
    return v
  end
  local out = { type = t, major = num(d.major or d[2], path .. ".major", 0xfff),
                minor = num(d.minor or d[3], path .. ".minor", 0xfffff) }
  local acc = d.access or d[4] or "rwm"
  if type(acc) ~= "string" or acc == "" or acc:find("[^rwm]") then fail(path .. ".access", 'letters of "rwm"', acc) end
  out.access = (acc:find("m") and 1 or 0) + (acc:find("r") and 2 or 0) + (acc:find("w") and 4 or 0)
  if #d > 4 then failmsg(path, "too many positional values") end
  if d.path ~= nil then
    out.path = abspath(d.path, path .. ".path")
    if not out.path:match("^/dev/.") then failmsg(path .. ".path", "a node is made in the jail's /dev: a path below /dev") end
    if t == "a" or out.major < 0 or out.minor < 0 then
      failmsg(path .. ".path", "a node needs its type (c or b) and both numbers")
    end
    out.access = out.access | 1 -- init makes the node: mknod
    out.mode = d.mode ~= nil and unit(units.mode, d.mode, path .. ".mode") or tonumber("0600", 8)
  elseif d.mode ~= nil then
    failmsg(path .. ".mode", "a mode is for a node made at path")
  end
  return out
end

-- {kind=..., src=..., dst=...} from either { "bind", src, dst, ... } or
-- { type = "bind", source = ..., target = ... }
local MOUNT_KEYS = { type = true, source = true, target = true, ro = true, rec = true,
                     size = true, mode = true, options = true, optional = true,
                     noexec = true, nosuid = true, nodev = true, content = true, copyup = true }
local KINDS = { bind = 2, tmpfs = 1, proc = 1, dev = 1, sysfs = 1, mqueue = 1, dir = 1,
                symlink = 2, file = 2, overlay = 2, cgroup = 1 }

local function compile_mount(m, path)
  typed(m, "table", path, "a mount table like { \"tmpfs\", \"/tmp\" }")
  check_keys(m, MOUNT_KEYS, path)
  local kind = m.type or m[1]
  if type(kind) ~= "string" or not KINDS[kind] then
    fail(path .. ".type", "one of bind, tmpfs, proc, dev, sysfs, mqueue, dir, symlink, file, overlay, cgroup", kind)
  end
  local src, dst
  if KINDS[kind] == 2 then
    src, dst = m.source or m[2], m.target or m[3]
    if kind == "file" then src, dst = nil, m.target or m[2] end
  else
    dst = m.target or m[2]
  end
  if rawlen(m) > KINDS[kind] + 1 then failmsg(path, "too many positional values") end
  local out = { kind = kind, dst = abspath(dst, path .. ".target") }
  if kind == "bind" then
    out.src = hostpath(src, path .. ".source")
    out.ro = optbool(m.ro, false, path .. ".ro")
    out.rec = optbool(m.rec, true, path .. ".rec")
    out.optional = optbool(m.optional, false, path .. ".optional")
  elseif kind == "overlay" then
    -- the host directory below, writes to a tmpfs that dies with the jail
    out.src = hostpath(src, path .. ".source")
    out.data = "mode=0755" .. (m.size ~= nil and (",size=" .. tmpfs_size(m.size, path .. ".size")) or "")
  elseif kind == "symlink" then
    out.src = no_nul(typed(src, "string", path .. ".source", "the link's text"), path .. ".source")
  elseif kind == "file" then
    local c = m.content or m[3] or ""
    out.data = typed(c, "string", path .. ".content")
  elseif kind == "tmpfs" then
    local opts = {}
    if m.size ~= nil then opts[#opts + 1] = "size=" .. tmpfs_size(m.size, path .. ".size") end
    local mode = m.mode ~= nil and unit(units.mode, m.mode, path .. ".mode") or tonumber("1777", 8)
    opts[#opts + 1] = ("mode=%o"):format(mode)
    if m.options ~= nil then opts[#opts + 1] = no_nul(typed(m.options, "string", path .. ".options"), path .. ".options") end
    out.data = table.concat(opts, ",")
    out.ro = optbool(m.ro, false, path .. ".ro")
    -- what the directory below held, copied in (OCI's tmpcopyup)
    if m.copyup ~= nil then out.copyup = optbool(m.copyup, false, path .. ".copyup") end
  elseif kind == "proc" and m.options ~= nil then
    out.data = no_nul(typed(m.options, "string", path .. ".options"), path .. ".options")
  elseif kind == "sysfs" then
    out.ro = optbool(m.ro, true, path .. ".ro")
  elseif kind == "cgroup" then
    -- the jail's own cgroup (its namespace's root); writable only with
    -- cgroup.delegate, where the kernel guards the leaf's limits
    if m.ro == false then failmsg(path .. ".ro", "a writable cgroup is cgroup = { delegate = true }") end
    out.ro = true
  end
  if kind == "dir" or kind == "file" then
    if m.mode ~= nil then out.mode = unit(units.mode, m.mode, path .. ".mode") end
  end
  for _, f in ipairs { "noexec", "nosuid", "nodev" } do
    if m[f] ~= nil then out[f] = typed(m[f], "boolean", path .. "." .. f) end
  end
  return out
end

-- sample = "100ms" | { every = "100ms", points = 1000 }: the supervisor
-- reads the jail's cgroup this often into result.timeline (at most points
-- of it: then the interval doubles).  fallback: a run's own default
-- (--sample, --report), used when the recipe says nothing.
function M.compile_sample(v, plan, path, fallback)
  if v == nil then v = fallback end
  if v == nil or v == false then return end
  local every, points = v, nil
  if type(v) == "table" then
    check_keys(v, { every = true, points = true }, path)
    every = v.every
    if every == nil then failmsg(path .. ".every", "how often, e.g. \"100ms\"") end
    if v.points ~= nil then
      points = unit(units.count, v.points, path .. ".points")
      if points < 4 or points > 100000 then fail(path .. ".points", "a count from 4 to 100000", v.points) end
    end
  end
  local p = type(v) == "table" and path .. ".every" or path
  local ms = math.floor(unit(units.duration, every, p) * 1000 + 0.5)
  if ms < 10 or ms > 3600000 then fail(p, 'an interval from 10ms to 1h (e.g. "100ms")', every) end
  plan.sample_ms, plan.sample_max = ms, points
end

-- the supervisor's limits: they bound the job, not the jail
local function supervisor_limits(l, plan, path)
  if l.wall ~= nil then plan.wall_ms = math.ceil(unit(units.duration, l.wall, path .. ".wall") * 1000) end
  if l.cpu_time ~= nil then
    plan.cpu_time_us = math.ceil(unit(units.duration, l.cpu_time, path .. ".cpu_time") * 1e6)
  end
  if l.output ~= nil then
    plan.output_limit = unit(units.size, l.output, path .. ".output")
    if plan.output_limit < 1 or plan.output_limit > M.OUTPUT_MAX then
      fail(path .. ".output", "a size of at least one byte, up to 1T", l.output)
    end
  end
end

local function compile_limits(l, plan, path, caps_of)
  typed(l, "table", path)
  check_keys(l, LIMITS, path)
  local writes = {}
  local optional = {}
  if l.optional == true then
    optional = setmetatable({}, { __index = function() return true end })
  elseif l.optional ~= nil then
    for i, n in ipairs(list_of_strings(l.optional, path .. ".optional")) do
      if not LIMITS[n] or n == "optional" then
        fail(("%s.optional[%d]"):format(path, i), "a limit name", n)
      end
      optional[n] = true
    end
  end
  local function w(name, file, value)
    writes[#writes + 1] = { file, tostring(value), optional = optional[name] or nil }
  end
  if l.memory ~= nil then w("memory", "memory.max", unit(units.size, l.memory, path .. ".memory", true, 1)) end
  if l.memory_high ~= nil then w("memory_high", "memory.high", unit(units.size, l.memory_high, path .. ".memory_high", true, 1)) end
  if l.memory_low ~= nil then w("memory_low", "memory.low", unit(units.size, l.memory_low, path .. ".memory_low", true)) end
  if l.memory_min ~= nil then w("memory_min", "memory.min", unit(units.size, l.memory_min, path .. ".memory_min", true)) end
  if l.swap ~= nil then w("swap", "memory.swap.max", unit(units.size, l.swap, path .. ".swap", true)) end
  if l.oom_group ~= nil then
    w("oom_group", "memory.oom.group", typed(l.oom_group, "boolean", path .. ".oom_group") and 1 or 0)
  end
  local period
  if l.cpu_period ~= nil then
    if l.cpu == nil then failmsg(path .. ".cpu_period", "goes with cpu (the quota, in CPUs, over this period)") end
    period = math.floor(unit(units.duration, l.cpu_period, path .. ".cpu_period") * 1e6 + 0.5)
    if period < 1000 or period > 1000000 then
      fail(path .. ".cpu_period", 'a period from 1ms to 1s (e.g. "50ms")', l.cpu_period)
    end
  end
  if l.cpu ~= nil then w("cpu", "cpu.max", unit(units.cpu, l.cpu, path .. ".cpu", period)) end
  if l.cpu_shares ~= nil then
    if l.cpu_weight ~= nil then failmsg(path .. ".cpu_shares", "give cpu_shares or cpu_weight, not both") end
    w("cpu_shares", "cpu.weight", unit(units.shares_to_weight, l.cpu_shares, path .. ".cpu_shares"))
  end
  if l.cpu_weight ~= nil then
    local v = unit(units.count, l.cpu_weight, path .. ".cpu_weight")
    if v > 10000 then fail(path .. ".cpu_weight", "an integer from 1 to 10000", l.cpu_weight) end
    w("cpu_weight", "cpu.weight", v)
  end
  if l.cpuset ~= nil then
    local cs = l.cpuset
    if type(cs) ~= "table" then cs = { cpus = cs } end
    check_keys(cs, { cpus = true, mems = true }, path .. ".cpuset")
    if cs.cpus ~= nil then w("cpuset", "cpuset.cpus", unit(units.cpulist, cs.cpus, path .. ".cpuset" .. (type(l.cpuset) == "table" and ".cpus" or ""))) end
    if cs.mems ~= nil then w("cpuset", "cpuset.mems", unit(units.cpulist, cs.mems, path .. ".cpuset.mems")) end
  end
  if l.pids ~= nil then
    -- the jail's init is one of its pids: 2 is init and the command
    local v, what = units.count(l.pids, true, M.PIDS_MIN)
    if v == nil then
      fail(path .. ".pids", what, l.pids, units.count(l.pids, false, 0)
           and "the jail's init counts: pids = 2 is init and the command (which cannot fork)" or nil)
    end
    w("pids", "pids.max", v)
  end
  if l.io ~= nil then
    typed(l.io, "table", path .. ".io", 'a table like { ["/dev/vda"] = { wbps = "10M" }, weight = 100 }')
    local devs = {}
    for dev in next, l.io do
      if dev ~= "weight" then devs[#devs + 1] = dev end
    end
    table.sort(devs, function(a, b) return tostring(a) < tostring(b) end)
    if l.io.weight ~= nil then
      -- the cgroup's default weight, for every device without its own
      local v = unit(units.count, l.io.weight, path .. ".io.weight")
      if v < 1 or v > 10000 then fail(path .. ".io.weight", "an integer from 1 to 10000", l.io.weight) end
      w("io", "io.weight", "default " .. v)
    end
    for _, dev in ipairs(devs) do
      local s = l.io[dev]
      local p = ("%s.io[%s]"):format(path, type(dev) == "string" and quoted(dev) or tostring(dev))
      local id
      if type(dev) == "string" and dev:match("^%d+:%d+$") then
        id = dev
      elseif type(dev) == "string" and dev:sub(1, 1) == "/" then
        -- a device by its path, here where the recipe is compiled
        local ma, mi, whole = require("cgsandbox.core").blockdev(no_nul(dev, p))
        if not ma then failmsg(p, mi .. ' (a block device by path, or as "MAJOR:MINOR")') end
        if whole then
          failmsg(p, ("a partition (%d:%d): the kernel limits io of whole disks only; use its disk (%s)")
                  :format(ma, mi, whole))
        end
        id = ma .. ":" .. mi
      else
        fail(p, 'a block device path ("/dev/vda") or "MAJOR:MINOR" (e.g. "8:0")', dev)
      end
      typed(s, "table", p)
      check_keys(s, { rbps = true, wbps = true, riops = true, wiops = true, weight = true }, p)
      local parts = { id }
      for _, k in ipairs { "rbps", "wbps" } do
        if s[k] ~= nil then parts[#parts + 1] = k .. "=" .. unit(units.size, s[k], p .. "." .. k, true, 1) end
      end
      for _, k in ipairs { "riops", "wiops" } do
        if s[k] ~= nil then parts[#parts + 1] = k .. "=" .. unit(units.count, s[k], p .. "." .. k, true) end
      end
      if #parts > 1 then w("io", "io.max", table.concat(parts, " ")) end
      if s.weight ~= nil then
        local v = unit(units.count, s.weight, p .. ".weight")
        if v < 1 or v > 10000 then fail(p .. ".weight", "an integer from 1 to 10000", s.weight) end
        w("io", "io.weight", id .. " " .. v)
      end
    end
  end
  -- keyed limits: a write each, in the keys' order
  local function keyed(name, what, key_ok, key_what, value_of)
    local t = l[name]
    if t == nil then return end
    typed(t, "table", path .. "." .. name, what)
    local ks = {}
    for k in next, t do ks[#ks + 1] = k end
    table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(ks) do
      local p = ("%s.%s[%s]"):format(path, name, type(k) == "string" and quoted(k) or tostring(k))
      if type(k) ~= "string" or not key_ok(k) then fail(p, key_what, k) end
      value_of(k, t[k], p)
    end
  end
  keyed("hugetlb", 'a table like { ["2MB"] = "64M" }', function(k) return k:match("^%d+[KMG]B$") end,
        'a huge page size as the kernel names it ("2MB", "1GB")', function(k, v, p)
          w("hugetlb", "hugetlb." .. k .. ".max", unit(units.size, v, p, true))
        end)
  keyed("rdma", "a table like { mlx5_0 = { hca_handle = 2, hca_object = 2000 } }",
        function(k) return k:match("^[%w_.%-]+$") end, "an RDMA device name (as in rdma.max)", function(k, v, p)
          typed(v, "table", p)
          check_keys(v, { hca_handle = true, hca_object = true }, p)
          local parts = { k }
          for _, f in ipairs { "hca_handle", "hca_object" } do
            if v[f] ~= nil then parts[#parts + 1] = f .. "=" .. unit(units.count, v[f], p .. "." .. f, true) end
          end
          if #parts == 1 then failmsg(p, "give hca_handle and/or hca_object") end
          w("rdma", "rdma.max", table.concat(parts, " "))
        end)
  keyed("misc", "a table like { sev = 16 }", function(k) return k:match("^[%l_][%l%d_]*$") end,
        "a misc resource name (as in misc.capacity)", function(k, v, p)
          w("misc", "misc.max", k .. " " .. unit(units.count, v, p, true))
        end)
  local set = {}
  for _, x in ipairs(writes) do set[x[1]] = true end
  keyed("unified", 'a table like { ["memory.high"] = "1G" }', function(k)
          local ctl = k:match("^(%l+)%.[%w_.]+$")
          return ctl and (M.CONTROLLERS[ctl] or k == "cgroup.max.descendants" or k == "cgroup.max.depth")
        end, 'a cgroup v2 file of a controller (e.g. "memory.high"), or cgroup.max.descendants/depth',
        function(k, v, p)
          if set[k] then failmsg(p, k .. " is also set by another limit: say it once") end
          if math.type(v) == "integer" then v = tostring(v) end
          local s = no_nul(typed(v, "string", p, "the file's content, as a string"), p)
          if #s == 0 or #s > 4096 or s:find("\n", 1, true) then fail(p, "one line of up to 4096 bytes", v) end
          w("unified", k, s)
        end)
  supervisor_limits(l, plan, path)
  if l.rlimits ~= nil then
    typed(l.rlimits, "table", path .. ".rlimits")
    local names = {}
    for k in next, l.rlimits do
      if type(k) ~= "string" or not RLIMITS[k] then
        local known = {}
        for n in pairs(RLIMITS) do known[#known + 1] = n end
        table.sort(known)
        failmsg(key_path(path .. ".rlimits", k), "unknown rlimit (known: " .. table.concat(known, ", ") .. ")")
      end
      names[#names + 1] = k
    end
    table.sort(names)
    plan.rlimits = {}
    for _, k in ipairs(names) do
      local v, p = l.rlimits[k], path .. ".rlimits." .. k
      local soft, hard
      if type(v) == "table" then
        check_keys(v, { soft = true, hard = true }, p)
        soft, hard = v.soft, v.hard
      else
        soft, hard = v, v
      end
      local function one(x, pp)
        if x == nil or x == "unlimited" or x == "max" then return -1 end
        if RLIMITS[k] == "size" then return unit(units.size, x, pp) end
        return unit(units.count, x, pp, false, 0)
      end
      local s, h = one(soft, p .. (type(v) == "table" and ".soft" or "")),
                   one(hard, p .. (type(v) == "table" and ".hard" or ""))
      if h >= 0 and (s < 0 or s > h) then failmsg(p, "the soft limit exceeds the hard limit") end
      plan.rlimits[#plan.rlimits + 1] = { name = k, soft = s, hard = h }
    end
  end
  plan.cgroup_writes = writes
end

-- compile_cgroup_limits(t, path) -> { { file, value, optional = }, ... }:
-- the cgroup writes of a limits table (set_limit on a live jail); the
-- supervisor's limits are not among them
function M.compile_cgroup_limits(t, path)
  typed(t, "table", path)
  for k in next, t do
    if k == "wall" or k == "cpu_time" or k == "output" or k == "rlimits" then
      failmsg(key_path(path, k), "not a cgroup limit: it is set when the jail starts")
    end
  end
  local plan = {}
  compile_limits(t, plan, path)
  return plan.cgroup_writes
end

local function env_of(r, path, hostenv)
  local env = {}
  if r.env == nil then
    env.PATH = DEFAULT_PATH
  else
    typed(r.env, "table", path .. ".env", "a table of NAME = value")
    for k, v in next, r.env do
      if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
        fail(path .. ".env", "names like PATH or MY_VAR", k)
      end
      if type(v) == "number" then v = tostring(v) end
      if type(v) ~= "string" or v:find("\0", 1, true) then
        fail(path .. ".env." .. k, "a string", v)
      end
      env[k] = v
    end
  end
  if r.env_inherit ~= nil then
    for _, k in ipairs(list_of_strings(r.env_inherit, path .. ".env_inherit")) do
      local v = (hostenv or os.getenv)(k)
      if v ~= nil and env[k] == nil then env[k] = v end
    end
  end
  local list = {}
  for k, v in pairs(env) do list[#list + 1] = k .. "=" .. v end
  table.sort(list)
  return list
end

local function stdio_of(v, i, path)
  local names = { "stdin", "stdout", "stderr" }
  local p = path .. "." .. names[i]
  if v == nil or v == "inherit" then return { kind = "inherit" } end
  if v == "null" then return { kind = "null" } end
  if v == "capture" then
    if i == 1 then fail(p, '"inherit", "null", a file path or { data = "..." }', v) end
    return { kind = "capture" }
  end
  if type(v) == "string" then return { kind = "file", path = hostpath(v, p) } end
  if type(v) == "table" then
    check_keys(v, { file = true, data = true, append = true }, p)
    if v.data ~= nil then
      if i ~= 1 then failmsg(p .. ".data", "only stdin takes data") end
      return { kind = "data", data = typed(v.data, "string", p .. ".data") }
    end
    return { kind = "file", path = hostpath(v.file, p .. ".file"),
             append = optbool(v.append, nil, p .. ".append") }
  end
  fail(p, '"inherit", "null", "capture", a file path or a table', v)
end

local function idmap(v, path)
  if v == nil then return nil end
  if type(v) == "string" then
    for line in v:gmatch("[^\n]+") do
      if not line:match("^%s*%d+%s+%d+%s+%d+%s*$") then fail(path, '"inside outside count" lines', v) end
    end
    return v
  end
  typed(v, "table", path, 'a map like "0 1000 1" or { {0, 1000, 1} }')
  local lines = {}
  for i, e in ipairs(list(v, path, 'a map like "0 1000 1" or { {0, 1000, 1} }', 340)) do
    if type(e) ~= "table" or rawlen(e) ~= 3 then fail(("%s[%d]"):format(path, i), "{ inside, outside, count }", e) end
    for j = 1, 3 do unit(units.count, e[j], ("%s[%d][%d]"):format(path, i, j), false, j == 3 and 1 or 0) end
    lines[#lines + 1] = ("%d %d %d"):format(e[1], e[2], e[3])
  end
  return table.concat(lines, "\n")
end

local function argv_of(cmd, path)
  if type(cmd) == "string" then
    if cmd == "" then fail(path .. ".command", "a command", cmd) end
    return { "/bin/sh", "-c", no_nul(cmd, path .. ".command") }
  elseif type(cmd) == "table" then
    local argv = list_of_strings(cmd, path .. ".command")
    if #argv == 0 or argv[1] == "" then fail(path .. ".command", "a non-empty list like { \"/bin/echo\", \"hi\" }", cmd) end
    return argv
  end
  fail(path .. ".command", 'a command: a list like { "/bin/echo", "hi" } or a shell string', cmd)
end

local function stdio_all(io_, path)
  if io_ ~= nil then
    typed(io_, "table", path .. ".stdio")
    check_keys(io_, { stdin = true, stdout = true, stderr = true }, path .. ".stdio")
  else
    io_ = {}
  end
  return { stdio_of(io_.stdin, 1, path .. ".stdio"), stdio_of(io_.stdout, 2, path .. ".stdio"),
           stdio_of(io_.stderr, 3, path .. ".stdio") }
end

-- seccomp's rules form: { default, default_errno, architectures, flags,
-- skip_unknown, rules = { { "name", ..., action = "errno", errno = 22,
-- args = { { 0, "==", 16 } } } } }
local ERRNO = { EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
  ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14,
  EBUSY = 16, EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
  ENFILE = 23, EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29,
  EROFS = 30, EMLINK = 31, EPIPE = 32, EDOM = 33, ERANGE = 34, ENOSYS = 38, ENOTSUP = 95,
  EOPNOTSUPP = 95, EPROTONOSUPPORT = 93, EAFNOSUPPORT = 97, ECONNREFUSED = 111 }
M.ERRNO = ERRNO
local SC_ACTIONS = { allow = true, errno = true, kill = true, kill_process = true, kill_thread = true,
                     trap = true, log = true, trace = true }
local SC_OPS = { ["=="] = true, ["!="] = true, ["<"] = true, ["<="] = true, [">"] = true, [">="] = true,
                 ["&="] = true }
local SC_FLAGS = { tsync = 1, log = 2, spec_allow = 4, tsync_esrch = 16 }
M.SECCOMP_FLAGS = SC_FLAGS

local function errno_of(v, path)
  if type(v) == "string" and ERRNO[v] then return ERRNO[v] end
  if math.type(v) == "integer" and v >= 0 and v <= 4095 then return v end
  fail(path, 'an errno: a number from 0 to 4095 or a name like "EPERM"', v)
end

local function sc_action(a, path)
  if a == "notify" then
    failmsg(path, "notify needs a seccomp listener (a user-space supervisor), which sandboxlua does not have")
  end
  if type(a) ~= "string" or not SC_ACTIONS[a] then
    fail(path, '"allow", "errno", "kill" (the process), "kill_thread", "trap", "log" or "trace"', a)
  end
  return a == "kill" and "kill_process" or a
end

local function sc_cond(c, path)
  typed(c, "table", path, 'a condition like { 0, "==", 16 } (argument, comparison, value)')
  check_keys(c, {}, path)
  local arg, op, a, b = c[1], c[2], c[3], c[4]
  if math.type(arg) ~= "integer" or arg < 0 or arg > 5 then fail(path .. "[1]", "an argument from 0 to 5", arg) end
  if type(op) ~= "string" or not SC_OPS[op] then fail(path .. "[2]", 'one of ==, !=, <, <=, >, >=, &= (masked)', op) end
  if math.type(a) ~= "integer" then fail(path .. "[3]", "an integer", a) end
  if op == "&=" then
    if math.type(b) ~= "integer" then fail(path .. "[4]", "the value the masked argument must equal", b) end
  elseif b ~= nil and b ~= 0 then
    failmsg(path .. "[4]", ("a second value goes only with &= (mask, value)"))
  end
  if #c > 4 then failmsg(path, "too many values") end
  return { arg, op, a, b or 0 }
end

local function sc_rule(ru, path)
  typed(ru, "table", path, 'a rule like { "personality", action = "allow", args = { { 0, "==", 0 } } }')
  check_keys(ru, { names = true, action = true, errno = true, value = true, args = true }, path)
  local names = {}
  for i, n in ipairs(ru) do names[i] = n end
  if ru.names ~= nil then
    if #names > 0 then failmsg(path, "give the names in the list or as names, not both") end
    names = ru.names
  end
  names = syscall_names(names, ru.names ~= nil and path .. ".names" or path)
  if #names == 0 then failmsg(path, "a rule names at least one system call") end
  local act = sc_action(ru.action, path .. ".action")
  local out = { names = names, action = act }
  if ru.errno ~= nil then
    if act ~= "errno" then failmsg(path .. ".errno", 'goes with action = "errno"') end
    out.value = errno_of(ru.errno, path .. ".errno")
  elseif act == "errno" then
    out.value = 1
  end
  if ru.value ~= nil then
    if act ~= "trace" then failmsg(path .. ".value", 'goes with action = "trace" (the tracer\'s message)') end
    if math.type(ru.value) ~= "integer" or ru.value < 0 or ru.value > 65535 then
      fail(path .. ".value", "a number from 0 to 65535", ru.value)
    end
    out.value = ru.value
  elseif act == "trace" then
    out.value = 0
  end
  if ru.args ~= nil then
    local args = list(ru.args, path .. ".args", "a list of conditions", 6)
    out.args = {}
    for i, c in ipairs(args) do out.args[i] = sc_cond(c, ("%s.args[%d]"):format(path, i)) end
  end
  return out
end

local function sc_flags(v, path)
  local bits = 0
  for i, f in ipairs(list_of_strings(v, path)) do
    if not SC_FLAGS[f] then fail(("%s[%d]"):format(path, i), '"log", "spec_allow", "tsync" or "tsync_esrch"', f) end
    bits = bits | SC_FLAGS[f]
  end
  return bits
end

local function compile_seccomp_rules(sc, path)
  for _, k in ipairs { "allow", "deny", "denylist" } do
    if sc[k] ~= nil then
      failmsg(path .. "." .. k, "goes with the list form; with rules, each call is a rule of its own")
    end
  end
  local out = { rules = {}, default = sc_action(sc.default or "errno", path .. ".default"),
                default_value = 1, skip_unknown = optbool(sc.skip_unknown, false, path .. ".skip_unknown") }
  if out.default == "trace" then out.default_value = 0 end
  if sc.default_errno ~= nil then
    if out.default ~= "errno" and out.default ~= "trace" then
      failmsg(path .. ".default_errno", 'goes with default = "errno" (or "trace": its message)')
    end
    out.default_value = errno_of(sc.default_errno, path .. ".default_errno")
  end
  if sc.architectures ~= nil then
    out.arches = list_of_strings(sc.architectures, path .. ".architectures")
    for i, a in ipairs(out.arches) do
      if not a:match("^[%w_]+$") then fail(("%s.architectures[%d]"):format(path, i), 'an architecture like "x86"', a) end
    end
  end
  if sc.flags ~= nil then out.flags = sc_flags(sc.flags, path .. ".flags") end
  for i, ru in ipairs(list(sc.rules, path .. ".rules", "a list of rules", 65536)) do
    out.rules[i] = sc_rule(ru, ("%s.rules[%d]"):format(path, i))
  end
  return out
end

-- capabilities: a list (one set: bounding, effective, permitted,
-- inheritable and ambient all = it), or the five sets by name
local CAPSETS = { "bounding", "effective", "permitted", "inheritable", "ambient" }
local function cap_list(v, path, opts)
  local out, set = {}, {}
  for i, c in ipairs(list_of_strings(v, path)) do
    local n = c:lower():gsub("^cap_", "")
    if opts.cap_names and not opts.cap_names[n] then
      fail(("%s[%d]"):format(path, i), "a capability name like \"net_bind_service\"", c)
    end
    if not set[n] then out[#out + 1] = n; set[n] = true end
  end
  return out, set
end
local function compile_caps(v, plan, path, opts)
  plan.caps = {}
  if v == nil then return end
  typed(v, "table", path, 'a list of names, or { bounding = ..., effective = ..., permitted = ..., inheritable = ..., ambient = ... }')
  if rawget(v, 1) ~= nil or next(v) == nil then
    plan.caps = cap_list(v, path, opts)
    return
  end
  local allowed = {}
  for _, s in ipairs(CAPSETS) do allowed[s] = true end
  check_keys(v, allowed, path)
  local lists, sets = {}, {}
  for _, s in ipairs(CAPSETS) do lists[s], sets[s] = cap_list(v[s] or {}, path .. "." .. s, opts) end
  local function within(a, b, msg)
    for _, c in ipairs(lists[a]) do
      local ok = true
      for _, x in ipairs(b) do ok = ok and sets[x][c] end
      if not ok then failmsg(path .. "." .. a, ("%s is not in %s: %s"):format(c, table.concat(b, " and "), msg)) end
    end
  end
  within("effective", { "permitted" }, "the effective set is part of the permitted one")
  within("inheritable", { "bounding" }, "the kernel takes into the inheritable set only what the bounding set holds")
  within("ambient", { "permitted", "inheritable" }, "an ambient capability must be permitted and inheritable")
  plan.caps = lists.bounding
  plan.caps5 = { effective = lists.effective, permitted = lists.permitted,
                 inheritable = lists.inheritable, ambient = lists.ambient }
end

-- the sysctls a namespace of the jail's own holds, and which one
local function sysctl_ns(k)
  if k:match("^net%.") then return "net" end
  if k:match("^fs%.mqueue%.") or k:match("^kernel%.shm") or k:match("^kernel%.msg")
     or k:match("^kernel%.sem") then return "ipc" end
  if k == "kernel.hostname" or k == "kernel.domainname" then return "uts" end
end
M.sysctl_namespace = sysctl_ns
local function compile_sysctl(v, plan, path, set, join)
  typed(v, "table", path, '{ ["net.ipv4.ping_group_range"] = "0 2147483647" }')
  local keys = {}
  for k, x in next, v do
    if type(k) ~= "string" then fail(path, "sysctl names as keys", k) end
    local kp = path .. "[" .. quoted(k) .. "]" 
    if not k:match("^[%w_][%w_%-%.%/@:]*$") or k:find("..", 1, true) or k:find("//", 1, true)
       or k:find("/%.") then
      fail(kp, 'a sysctl name like "net.ipv4.ip_forward"', k)
    end
    if type(x) ~= "string" and math.type(x) ~= "integer" then fail(kp, "a string or an integer", x) end
    local dotted = k:gsub("/", ".")
    local ns = sysctl_ns(dotted)
    if not ns then
      failmsg(kp, "not a namespaced sysctl (net.*, kernel.shm*/msg*/sem, fs.mqueue.*, kernel.hostname, "
        .. "kernel.domainname): it would change the host")
    end
    -- a namespace joined by path is the jail's too (a pod's network: the
    -- host refuses its own at spawn, core/spawn.c)
    if not set[ns] and not (type(join) == "table" and join[ns]) then
      failmsg(kp, ("needs the jail's own %s namespace (or one joined by path)"):format(ns))
    end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  if #keys == 0 then return end
  plan.sysctl = {}
  for _, k in ipairs(keys) do
    local x = tostring(v[k])
    no_nul(x, path .. "[" .. quoted(k) .. "]")
    plan.sysctl[#plan.sysctl + 1] = k
    plan.sysctl[#plan.sysctl + 1] = x
  end
end

local PERSONALITIES = { linux = 0, linux32 = 8 }
-- sysctl, oom_score_adj, domainname, personality, no_new_privs
local function compile_kernel_settings(r, plan, path, set)
  if r.sysctl ~= nil then compile_sysctl(r.sysctl, plan, path .. ".sysctl", set, r.join) end
  if r.oom_score_adj ~= nil then
    local v = r.oom_score_adj
    if math.type(v) ~= "integer" or v < -1000 or v > 1000 then fail(path .. ".oom_score_adj", "an integer from -1000 to 1000", v) end
    plan.oom_score_adj = v
  end
  if r.domainname ~= nil then
    local d = r.domainname
    if type(d) ~= "string" or #d == 0 or #d > 64 or not d:match("^[%w][%w%-%.%_]*$") then
      fail(path .. ".domainname", "a NIS domain name (letters, digits, '-', '_', '.'; up to 64)", d)
    end
    if not set.uts then failmsg(path .. ".domainname", "needs the jail's own uts namespace") end
    plan.domainname = d
  end
  if r.personality ~= nil then
    local pe = PERSONALITIES[r.personality]
    if not pe then fail(path .. ".personality", '"linux" or "linux32"', r.personality) end
    plan.personality = pe
  end
  if r.no_new_privs ~= nil then
    plan.no_new_privs = typed(r.no_new_privs, "boolean", path .. ".no_new_privs")
  end
  if r.pass_fds ~= nil then
    -- { 7, io.open(...) }: the host's fds the command gets as 3, 4, ...
    -- (nothing of the host's is passed unless named here)
    local fp = path .. ".pass_fds"
    typed(r.pass_fds, "table", fp)
    local n = #r.pass_fds
    for k in pairs(r.pass_fds) do
      if math.type(k) ~= "integer" or k < 1 or k > n then fail(fp, "a list", k) end
    end
    if n > 64 then failmsg(fp, "at most 64 fds") end
    local fds = {}
    for i, v in ipairs(r.pass_fds) do
      if not ((math.type(v) == "integer" and v >= 0 and v <= 0x7fffffff) or io.type(v) == "file") then
        fail(("%s[%d]"):format(fp, i), "an fd number or an open file", v)
      end
      fds[i] = v
    end
    plan.pass_fds = fds
  end
end

-- dev = { size = "64m", mode = "0755", pts_gid = 5, pts_mode = "0620" }:
-- the jail's own /dev (a tmpfs, 512k and 0755 by default) and its devpts
-- (mode 0620, the group of the opener by default); data for init is
-- "<tmpfs options>\n<devpts options>"
compile_dev_options = function(d, path)
  check_keys(d, { size = true, mode = true, pts_gid = true, pts_mode = true }, path)
  local fs, pts = {}, {}
  if d.mode ~= nil then
    local m = unit(units.mode, d.mode, path .. ".mode")
    if m > 4095 then fail(path .. ".mode", 'a mode like "0755"', d.mode) end
    fs[#fs + 1] = ("mode=%04o"):format(m)
  else
    fs[#fs + 1] = "mode=0755"
  end
  fs[#fs + 1] = "size=" .. (d.size ~= nil and tmpfs_size(d.size, path .. ".size") or "512k")
  if d.pts_gid ~= nil then pts[#pts + 1] = "gid=" .. unit(units.id, d.pts_gid, path .. ".pts_gid") end
  if d.pts_mode ~= nil then
    local m = unit(units.mode, d.pts_mode, path .. ".pts_mode")
    if m > 511 then fail(path .. ".pts_mode", 'permission bits like "0620"', d.pts_mode) end
    pts[#pts + 1] = ("mode=%04o"):format(m)
  end
  return { kind = "dev", dst = "/dev", data = table.concat(fs, ",") .. "\n" .. table.concat(pts, ",") }
end

-- compile(recipe, opts) -> plan.  opts: cap_names (set of known caps),
-- seccomp_check(fn), cgroup_parent (CLI override), getuid, getenv.
function M.compile(r, opts)
  opts = opts or {}
  local path = "recipe"
  typed(r, "table", path, "a recipe table")
  r = raw_copy(r, path)
  check_keys(r, TOP, path)
  local plan = {}

  if r.name ~= nil then plan.name = typed(r.name, "string", path .. ".name") end
  plan.argv = argv_of(r.command, path)

  -- namespaces
  local ns = r.namespaces
  if ns == nil then
    ns = M.DEFAULT_NAMESPACES
    -- without root, only a user namespace makes the others possible
    if opts.getuid and opts.getuid() ~= 0 then
      ns = table.move(ns, 1, #ns, 2, { "user" })
    end
  end
  list_of_strings(ns, path .. ".namespaces")
  local set = {}
  for i, n in ipairs(ns) do
    if not KNOWN_NS[n] then
      fail(("%s.namespaces[%d]"):format(path, i), "one of pid, mount, uts, ipc, net, cgroup, user, time", n)
    end
    set[n] = true
  end
  if r.network ~= nil then
    if r.network == "host" then set.net = nil
    elseif r.network == "none" or r.network == "loopback" then set.net = true
    else fail(path .. ".network", '"none" (loopback only) or "host"', r.network) end
  end
  if not set.mount then
    failmsg(path .. ".namespaces", '"mount" is required: sandboxlua always builds the jail\'s own mount table')
  end
  -- existing namespaces to join: { net = "/run/netns/x" }; such a type is
  -- not made new (it leaves the namespaces list)
  if r.join ~= nil then
    typed(r.join, "table", path .. ".join")
    local types = {}
    for k, v in pairs(r.join) do
      local kp = ("%s.join.%s"):format(path, tostring(k))
      if k ~= "net" and k ~= "ipc" and k ~= "uts" and k ~= "pid" then
        fail(path .. ".join", "keys net, ipc, uts or pid (the namespaces joined by path)", k)
      end
      if type(v) ~= "string" or v:sub(1, 1) ~= "/" then fail(kp, "an absolute path to a namespace file", v) end
      if k == "net" and r.network == "host" then failmsg(kp, 'joins a network namespace: drop network = "host"') end
      set[k] = nil
      types[#types + 1] = k
    end
    table.sort(types)
    plan.join = {}
    for _, k in ipairs(types) do plan.join[#plan.join + 1] = { type = k, path = r.join[k] } end
  end
  plan.namespaces = {}
  for _, n in ipairs { "pid", "mount", "uts", "ipc", "net", "cgroup", "user", "time" } do
    if set[n] then plan.namespaces[#plan.namespaces + 1] = n end
  end

  -- root
  if r.rootfs ~= nil then plan.rootfs = hostpath(r.rootfs, path .. ".rootfs") end
  plan.root_readonly = true
  if r.root_readonly ~= nil then plan.root_readonly = typed(r.root_readonly, "boolean", path .. ".root_readonly") end
  local rs = r.root_switch or "pivot_root"
  if rs == "pivot_root" or rs == "pivot" then plan.root_switch = "pivot"
  elseif rs == "chroot" then plan.root_switch = "chroot"
  else fail(path .. ".root_switch", '"pivot_root" (default) or "chroot" (weaker)', rs) end

  plan.env = env_of(r, path, opts.getenv)
  plan.cwd = r.cwd ~= nil and abspath(r.cwd, path .. ".cwd") or "/"
  local hn = r.hostname == nil and "jail" or r.hostname
  if type(hn) ~= "string" or #hn == 0 or #hn > 64 or not hn:match("^[%w][%w%-%.]*$") then
    fail(path .. ".hostname", "a host name (letters, digits, '-', '.'; up to 64)", hn)
  end
  plan.hostname = hn

  -- user
  local u = r.user
  if u == nil then
    -- nobody over the host root; in a user namespace the caller (root
    -- there) is all the jail is anyway
    u = (plan.rootfs or set.user) and {} or { uid = M.HOST_ROOT_USER }
  elseif type(u) == "number" then
    u = { uid = u }
  end
  typed(u, "table", path .. ".user", "{ uid = N, gid = N, groups = { ... } } or a uid")
  check_keys(u, { uid = true, gid = true, groups = true }, path .. ".user")
  plan.uid = u.uid ~= nil and unit(units.id, u.uid, path .. ".user.uid") or 0
  plan.gid = u.gid ~= nil and unit(units.id, u.gid, path .. ".user.gid") or plan.uid
  if u.groups ~= nil then
    typed(u.groups, "table", path .. ".user.groups", "a list of gids")
    plan.groups = {}
    for i, g in ipairs(list(u.groups, path .. ".user.groups", "a list of gids")) do
      plan.groups[i] = unit(units.id, g, ("%s.user.groups[%d]"):format(path, i))
    end
  end
  if set.user then
    local uid = (opts.getuid or function() return 0 end)()
    local gid = (opts.getgid or function() return 0 end)()
    plan.uid_map = idmap(r.uid_map, path .. ".uid_map") or ("%d %d 1"):format(plan.uid, uid)
    plan.gid_map = idmap(r.gid_map, path .. ".gid_map") or ("%d %d 1"):format(plan.gid, gid)
    -- beyond one's own id, an unprivileged user needs newuidmap/newgidmap
    -- and the ranges /etc/subuid, /etc/subgid grant
    local function own(map, id) return map:match("^%s*%d+%s+(%d+)%s+1%s*$") == tostring(id) end
    if uid ~= 0 and not (own(plan.uid_map, uid) and own(plan.gid_map, gid)) then
      plan.idmap_helpers = true
    end
  elseif r.uid_map ~= nil or r.gid_map ~= nil then
    failmsg(path .. ".uid_map", 'id maps need the "user" namespace')
  end

  -- mounts: defaults first (proc, dev, sys, and tmpfs /tmp /run over a host
  -- root), the recipe's own after (later mounts win)
  local mounts, targets = {}, {}
  if r.mounts ~= nil then
    typed(r.mounts, "table", path .. ".mounts", "a list of mounts")
    for i, m in ipairs(list(r.mounts, path .. ".mounts", "a list of mounts", 256)) do
      local cm = compile_mount(m, ("%s.mounts[%d]"):format(path, i))
      -- without its own cgroup namespace the jail would see the host's tree
      if cm.kind == "cgroup" and not set.cgroup then
        failmsg(("%s.mounts[%d]"):format(path, i), 'a cgroup mount needs the jail\'s own cgroup namespace: keep "cgroup" in namespaces')
      end
      mounts[#mounts + 1] = cm
      targets[cm.dst] = true
    end
  end
  local defaults = {}
  local function want(flag, name)
    if flag == nil then return true end
    return typed(flag, "boolean", path .. "." .. name)
  end
  if want(r.proc, "proc") and not targets["/proc"] then
    defaults[#defaults + 1] = { kind = "proc", dst = "/proc" }
  end
  if type(r.dev) == "table" then
    if not targets["/dev"] then defaults[#defaults + 1] = compile_dev_options(r.dev, path .. ".dev") end
  elseif want(r.dev, "dev") and not targets["/dev"] then
    defaults[#defaults + 1] = { kind = "dev", dst = "/dev" }
  end
  local sys = r.sys == nil and "ro" or r.sys
  if sys ~= "ro" and sys ~= false and sys ~= "rw" then
    fail(path .. ".sys", '"ro" (default), "rw" or false', r.sys)
  end
  if not targets["/sys"] then
    if sys then
      defaults[#defaults + 1] = { kind = "sysfs", dst = "/sys", ro = sys == "ro", optional = true }
    elseif not plan.rootfs then
      -- a host root must not show the host's /sys: cover it
      defaults[#defaults + 1] = { kind = "tmpfs", dst = "/sys", data = "size=0,mode=555", ro = true }
    end
  end
  local keep = {}
  if r.host_paths ~= nil then
    list_of_strings(r.host_paths, path .. ".host_paths")
    if plan.rootfs then failmsg(path .. ".host_paths", "only over the host's root (without rootfs)") end
    for i, hp in ipairs(list_of_strings(r.host_paths, path .. ".host_paths")) do
      if not M.HOST_PRIVATE[hp] then
        fail(("%s.host_paths[%d]"):format(path, i), "one of " .. table.concat(HOST_PRIVATE_ORDER, ", "), hp)
      end
      keep[hp] = true
    end
  end
  if not plan.rootfs then
    for _, t in ipairs(HOST_PRIVATE_ORDER) do
      if not targets[t] and not keep[t] then
        -- a directory the host does not have stays absent
        defaults[#defaults + 1] = { kind = "tmpfs", dst = t, data = "mode=" .. M.HOST_PRIVATE[t],
                                    optional = t ~= "/tmp" and t ~= "/run" or nil }
      end
    end
  end
  plan.mounts = table.move(mounts, 1, #mounts, #defaults + 1, defaults)
  if r.root_nodev ~= nil then
    plan.root_nodev = typed(r.root_nodev, "boolean", path .. ".root_nodev")
  end
  if r.root_mountpoints ~= nil then
    plan.root_mountpoints = typed(r.root_mountpoints, "boolean", path .. ".root_mountpoints")
  end

  -- copies: a plan is its caller's to change, the defaults are not
  plan.masked = r.masked_paths ~= nil and list_of_strings(r.masked_paths, path .. ".masked_paths")
                or table.move(M.DEFAULT_MASKED, 1, #M.DEFAULT_MASKED, 1, {})
  plan.readonly = r.readonly_paths ~= nil and list_of_strings(r.readonly_paths, path .. ".readonly_paths")
                  or table.move(M.DEFAULT_READONLY, 1, #M.DEFAULT_READONLY, 1, {})
  for i, p in ipairs(plan.masked) do abspath(p, ("%s.masked_paths[%d]"):format(path, i)) end
  for i, p in ipairs(plan.readonly) do abspath(p, ("%s.readonly_paths[%d]"):format(path, i)) end

  -- limits and the cgroup
  if r.limits ~= nil then compile_limits(r.limits, plan, path .. ".limits") end
  local cg = r.cgroup
  if cg == false then
    if plan.cgroup_writes and #plan.cgroup_writes > 0 then
      failmsg(path .. ".cgroup", "cgroup = false leaves no place for the limits")
    end
    if plan.cpu_time_us then failmsg(path .. ".cgroup", "cgroup = false leaves no way to measure cpu_time") end
  else
    plan.cgroup = { writes = plan.cgroup_writes or {} }
    local cp = path .. ".cgroup"
    if cg ~= nil then
      typed(cg, "table", cp, '{ parent = "..." }, { path = "...", leaf = false }, { delegate = true } or false')
      check_keys(cg, { parent = true, path = true, leaf = true, create = true, delegate = true,
                       delegate_max = true }, cp)
      if cg.path ~= nil then
        if cg.parent ~= nil then failmsg(cp, "give parent (a leaf of ours below it) or path (exactly that cgroup), not both") end
        if cg.leaf == true then failmsg(cp .. ".leaf", "a path is joined as it is (leaf = false); for a leaf below it, say parent") end
        plan.cgroup.path = hostpath(cg.path, cp .. ".path")
      elseif cg.leaf ~= nil then
        if typed(cg.leaf, "boolean", cp .. ".leaf") == false then failmsg(cp .. ".leaf", "leaf = false needs path (the cgroup to join)") end
      end
      if cg.parent ~= nil then plan.cgroup.parent = hostpath(cg.parent, cp .. ".parent") end
      if cg.create ~= nil then plan.cgroup.create = typed(cg.create, "boolean", cp .. ".create") end
      local d = cg.delegate
      if d ~= nil and d ~= false then
        if d ~= true then
          for i, n in ipairs(list_of_strings(d, cp .. ".delegate")) do
            if not M.CONTROLLERS[n] then
              fail(("%s.delegate[%d]"):format(cp, i), "a controller (cpuset, cpu, io, memory, hugetlb, pids, rdma, misc)", n)
            end
          end
          plan.cgroup.delegate_controllers = table.move(d, 1, #d, 1, {})
        end
        if not set.cgroup then failmsg(cp .. ".delegate", 'needs the jail\'s own cgroup namespace: keep "cgroup" in namespaces') end
        if r.sys == false or targets["/sys"] then
          failmsg(cp .. ".delegate", "the jail's cgroup is mounted at /sys/fs/cgroup in its own /sys: keep sys")
        end
        plan.cgroup.delegate = true
        if cg.delegate_max ~= nil then
          local v = unit(units.count, cg.delegate_max, cp .. ".delegate_max")
          if v < 1 or v > 100000 then fail(cp .. ".delegate_max", "a count from 1 to 100000", cg.delegate_max) end
          plan.cgroup.delegate_max = v
        end
        -- the jail's own cgroup, writable, at /sys/fs/cgroup (after /sys)
        for i, m in ipairs(plan.mounts) do
          if m.kind == "sysfs" and m.dst == "/sys" then
            table.insert(plan.mounts, i + 1, { kind = "cgroup", dst = "/sys/fs/cgroup", ro = false })
            targets["/sys/fs/cgroup"] = true
            break
          end
        end
      elseif cg.delegate_max ~= nil then
        failmsg(cp .. ".delegate_max", "goes with delegate = true")
      end
    end
    if not plan.cgroup.path then plan.cgroup.parent = opts.cgroup_parent or plan.cgroup.parent end
  end
  -- a cgroup mount at /sys/fs/cgroup is not masked (unless the recipe's
  -- own masked_paths says so)
  if targets["/sys/fs/cgroup"] and r.masked_paths == nil then
    for i = #plan.masked, 1, -1 do
      if plan.masked[i] == "/sys/fs/cgroup" then table.remove(plan.masked, i) end
    end
  end
  plan.cgroup_writes = nil

  -- devices: the minimal /dev's nodes and the recipe's, enforced on the
  -- cgroup leaf by the kernel (no cgroup: only nodev mounts hold)
  local rules = {}
  if r.devices ~= nil then
    for i, d in ipairs(list(r.devices, path .. ".devices", "a list of device rules", 100)) do
      rules[i] = compile_device(d, ("%s.devices[%d]"):format(path, i))
      if rules[i].path and (r.dev == false or targets["/dev"]) then
        failmsg(("%s.devices[%d].path"):format(path, i), "nodes are made in the jail's own /dev: keep dev")
      end
    end
    if cg == false and #rules > 0 then
      failmsg(path .. ".devices", "cgroup = false leaves no place for a device allow-list")
    end
  end
  if plan.cgroup then
    plan.devices = table.move(M.DEFAULT_DEVICES, 1, #M.DEFAULT_DEVICES, 1, {})
    table.move(rules, 1, #rules, #plan.devices + 1, plan.devices)
  end

  -- privileges
  compile_caps(r.capabilities, plan, path .. ".capabilities", opts)
  plan.no_new_privs = true
  compile_kernel_settings(r, plan, path, set)
  local sc = r.seccomp
  if sc == nil or sc == true or sc == "default" then
    plan.seccomp = { denylist = true, default = "allow" }
  elseif sc == false then
    plan.seccomp = false
  elseif type(sc) == "table" and sc.rules ~= nil then
    check_keys(sc, { rules = true, default = true, default_errno = true, architectures = true, flags = true,
                     skip_unknown = true, allow = true, deny = true, denylist = true }, path .. ".seccomp")
    plan.seccomp = compile_seccomp_rules(sc, path .. ".seccomp")
    if opts.seccomp_check then
      local ok, msg = opts.seccomp_check(plan.seccomp)
      if not ok then failmsg(path .. ".seccomp", msg) end
    end
  elseif type(sc) == "table" then
    for _, k in ipairs { "default_errno", "architectures", "skip_unknown" } do
      if sc[k] ~= nil then failmsg(path .. ".seccomp." .. k, "goes with rules (the rules form)") end
    end
    check_keys(sc, { allow = true, deny = true, default = true, denylist = true, flags = true }, path .. ".seccomp")
    local d = sc.default or "allow"
    if d ~= "allow" and d ~= "errno" and d ~= "kill" then
      fail(path .. ".seccomp.default", '"allow", "errno" or "kill"', d)
    end
    plan.seccomp = {
      default = d,
      allow = sc.allow ~= nil and syscall_names(sc.allow, path .. ".seccomp.allow") or nil,
      deny = sc.deny ~= nil and syscall_names(sc.deny, path .. ".seccomp.deny") or nil,
      denylist = optbool(sc.denylist, d == "allow", path .. ".seccomp.denylist"),
      flags = sc.flags ~= nil and sc_flags(sc.flags, path .. ".seccomp.flags") or nil,
    }
    if opts.seccomp_check then
      local ok, msg = opts.seccomp_check(plan.seccomp)
      if not ok then failmsg(path .. ".seccomp", msg) end
    end
  else
    fail(path .. ".seccomp", 'true/"default", false, { allow = ..., deny = ..., default = ... } or { rules = ..., default = ... }', sc)
  end
  if plan.seccomp then
    for _, c in ipairs(plan.caps) do
      if c == "sys_admin" then plan.seccomp.keep_sys_admin = true end
    end
  end
  if r.no_new_privs == false and plan.seccomp then
    local eff = plan.caps5 and plan.caps5.effective or plan.caps
    local admin = false
    for _, c in ipairs(eff) do admin = admin or c == "sys_admin" end
    if not admin then
      failmsg(path .. ".no_new_privs", "false needs seccomp = false or sys_admin kept (effective): the "
        .. "kernel loads a seccomp filter without no_new_privs only for CAP_SYS_ADMIN")
    end
  end
  if r.umask ~= nil then
    plan.umask = unit(units.mode, r.umask, path .. ".umask")
    if plan.umask > 511 then fail(path .. ".umask", 'a umask like "027" (permission bits only)', r.umask) end
  end

  plan.stdio = stdio_all(r.stdio, path)

  if r.tty ~= nil and typed(r.tty, "boolean", path .. ".tty") then
    if r.stdio ~= nil then failmsg(path .. ".tty", "the console is the command's stdin, stdout and stderr: drop stdio") end
    if r.dev == false then failmsg(path .. ".tty", "the console lives in the jail's /dev/pts: keep dev") end
    plan.tty = true
  end

  -- hooks stay in Lua: the plan carries them to the handle
  for _, h in ipairs { "on_start", "on_exit", "on_oom", "on_timeout", "on_sample" } do
    if r[h] ~= nil then typed(r[h], "function", path .. "." .. h) end
  end
  M.compile_sample(r.sample, plan, path .. ".sample", opts.sample)
  if r.on_sample ~= nil and not plan.sample_ms then
    failmsg(path .. ".on_sample", 'goes with sample (how often, e.g. sample = "1s")')
  end
  if opts.trace then plan.trace = true end
  return setmetatable(plan, M.Plan)
end

-- A pool's job: what may differ from the pool's recipe.  The stdio
-- streams may also be given at the top (stdin = ..., stdout = "capture").
local JOB = { name = true, command = true, env = true, env_inherit = true, cwd = true,
              stdio = true, stdin = true, stdout = true, stderr = true, limits = true,
              sample = true,
              on_start = true, on_exit = true, on_oom = true, on_timeout = true }
M.JOB_FIELDS = JOB

-- compile_job(job, opts) -> the process part of a plan (argv, env, cwd,
-- stdio, wall/cpu_time/output limits); raises RecipeError
function M.compile_job(j, opts)
  opts = opts or {}
  local path = opts.path or "job"
  typed(j, "table", path, "a job table")
  j = raw_copy(j, path)
  for k in next, j do
    if type(k) ~= "string" or not JOB[k] then
      failmsg(key_path(path, k), "not a job field: a pool's jobs differ from its recipe only in "
        .. "name, command, env, env_inherit, cwd, stdio (or stdin/stdout/stderr), limits.wall/cpu_time/output and hooks")
    end
  end
  local plan = {}
  if j.name ~= nil then plan.name = typed(j.name, "string", path .. ".name") end
  plan.argv = argv_of(j.command, path)
  plan.env = env_of(j, path, opts.getenv)
  plan.cwd = j.cwd ~= nil and abspath(j.cwd, path .. ".cwd") or "/"
  local io_ = j.stdio
  if j.stdin ~= nil or j.stdout ~= nil or j.stderr ~= nil then
    if io_ ~= nil then failmsg(path .. ".stdio", "give stdio or stdin/stdout/stderr, not both") end
    io_ = { stdin = j.stdin, stdout = j.stdout, stderr = j.stderr }
  end
  plan.stdio = stdio_all(io_, path)
  if j.limits ~= nil then
    typed(j.limits, "table", path .. ".limits")
    check_keys(j.limits, { wall = true, cpu_time = true, output = true }, path .. ".limits")
    supervisor_limits(j.limits, plan, path .. ".limits")
  end
  M.compile_sample(j.sample, plan, path .. ".sample", opts.sample)
  for _, h in ipairs { "on_start", "on_exit", "on_oom", "on_timeout" } do
    if j[h] ~= nil then typed(j[h], "function", path .. "." .. h) end
  end
  return plan
end

return M
