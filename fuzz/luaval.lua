-- Bytes <-> Lua values, for the Lua fuzz harnesses: libFuzzer mutates bytes,
-- this turns them into recipe-shaped tables (keys and values drawn mostly
-- from the recipe vocabulary, so mutations stay near valid recipes), with
-- numbers at the edges, NUL bytes, holes and hostile metatables.
-- encode() writes a seed for a given table (scripts/fuzz-seeds.lua).
local M = {}

M.DICT = {
  "command", "rootfs", "limits", "memory", "swap", "wall", "cpu", "cpu_time", "pids", "output",
  "mounts", "bind", "tmpfs", "dir", "file", "symlink", "overlay", "ro", "size", "mode", "env",
  "env_inherit", "user", "uid", "gid", "groups", "namespaces", "mount", "pid", "net", "uts",
  "ipc", "cgroup", "network", "host", "none", "seccomp", "deny", "allow", "default", "errno",
  "kill", "capabilities", "devices", "path", "type", "major", "minor", "access", "stdio",
  "stdin", "stdout", "stderr", "capture", "null", "inherit", "tty", "parent", "hostname",
  "cwd", "umask", "rlimits", "nofile", "nproc", "core", "fsize", "soft", "hard",
  "host_paths", "masked_paths", "readonly_paths", "sys", "root_switch", "chroot", "name",
  "on_exit", "on_oom", "max", "/bin/true", "/bin/sh", "-c", "/tmp", "/usr", "/etc", "/",
  "/dev/null", "..", "/proc/sys", "10M", "1.5G", "30s", "500ms", "2h", "0.5", "0755",
  "0-3", "0,2", "/sys/fs/cgroup", "root_nodev", "trace", "park", "io", "cpuset", "cpus",
  "mems", "weight", "high", "hugetlb", "job", "data", "src", "dst", "target", "", "a\0b",
  -- the fields OCI configs need (appended: earlier seeds decode as before)
  "rules", "names", "action", "args", "value", "default_errno", "architectures", "flags",
  "skip_unknown", "==", "&=", "kill_thread", "trap", "log", "x86", "sysctl", "oom_score_adj",
  "domainname", "personality", "linux32", "no_new_privs", "bounding", "effective", "permitted",
  "inheritable", "ambient", "pts_gid", "pts_mode", "net.ipv4.ping_group_range", "kernel.shmmni",
}
local INDEX = {}
for i, s in ipairs(M.DICT) do INDEX[s] = i - 1 end
local SUFFIX = { "", "K", "M", "G", "T", "P", "E", "ms", "us", "s", "m", "h", "d", "B", "iB" }

function M.decode(s)
  local pos = 1
  local function byte()
    local b = s:byte(pos) or 0
    pos = pos + 1
    return b
  end
  local function take(n)
    local v = s:sub(pos, pos + n - 1)
    pos = pos + n
    return v .. ("\0"):rep(n - #v)
  end
  local value
  local function str() return M.DICT[byte() % #M.DICT + 1] end
  local function tbl(depth, list)
    local t, n = {}, byte() % 9
    for i = 1, n do
      if list then
        t[i] = value(depth + 1)
      else
        local kb = byte()
        local k = kb < 240 and M.DICT[kb % #M.DICT + 1] or value(depth + 1)
        if k ~= nil and k == k then t[k] = value(depth + 1) end
      end
    end
    return t
  end
  function value(depth)
    if pos > #s or depth > 6 then return nil end
    local t = byte() % 14
    if t == 0 then return nil
    elseif t == 1 then return byte() % 2 == 1
    elseif t == 2 then return byte() - 128
    elseif t == 3 then return (string.unpack("<i8", take(8)))
    elseif t == 4 then return (string.unpack("<d", take(8)))
    elseif t == 5 or t == 6 then return str()
    elseif t == 7 then return take(byte() % 48)
    elseif t == 8 then
      -- a number with a unit ("10M", "1.5s", "2562048h")
      local n = ({ "0", "1", "1.5", "10", "4096", "2562048", "9999999999", "3.0e5", "00" })[byte() % 9 + 1]
      return n .. SUFFIX[byte() % #SUFFIX + 1]
    elseif t == 9 then return tbl(depth, false)
    elseif t == 10 or t == 11 then return tbl(depth, true)
    elseif t == 12 then return function() return value(depth + 1) end
    else
      -- hostile metatables: traps, endless __index, huge __len
      local inner = tbl(depth, byte() % 2 == 0)
      local kind = byte() % 4
      local trap = function() error("trap") end
      return setmetatable(inner, ({
        { __index = trap, __pairs = trap, __len = trap, __newindex = trap },
        { __index = function() return "/x" end },
        { __len = function() return math.maxinteger end },
        { __pairs = function() return function() return "k", "v" end end },
      })[kind + 1])
    end
  end
  return value(0), byte()
end

-- the inverse, for seeds: plain values and tables only
function M.encode(v, out)
  out = out or {}
  local function put(...) for _, b in ipairs { ... } do out[#out + 1] = string.char(b) end end
  local t = type(v)
  if v == nil then put(0)
  elseif t == "boolean" then put(1, v and 1 or 0)
  elseif math.type(v) == "integer" and v >= -128 and v < 128 then put(2, v + 128)
  elseif math.type(v) == "integer" then put(3); out[#out + 1] = string.pack("<i8", v)
  elseif t == "number" then put(4); out[#out + 1] = string.pack("<d", v)
  elseif t == "string" and INDEX[v] then put(5, INDEX[v])
  elseif t == "string" then put(7, math.min(#v, 47)); out[#out + 1] = v:sub(1, 47)
  elseif t == "table" then
    local n = #v
    local keys = 0
    for _ in pairs(v) do keys = keys + 1 end
    if n > 0 and keys == n then
      put(10, math.min(n, 8))
      for i = 1, math.min(n, 8) do M.encode(v[i], out) end
    else
      local ks = {}
      for k in pairs(v) do ks[#ks + 1] = k end
      table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
      put(9, math.min(#ks, 8))
      for i = 1, math.min(#ks, 8) do
        local k = ks[i]
        if type(k) == "string" and INDEX[k] then put(INDEX[k]) else put(240); M.encode(k, out) end
        M.encode(v[k], out)
      end
    end
  else put(0)
  end
  return table.concat(out)
end

return M
