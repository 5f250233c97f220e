-- Strict parsers for the human units recipes use: sizes ("50M", "1.5G",
-- "max"), durations ("30s", "500ms", "2m"), CPU shares (0.5).  Each returns
-- the value, or nil and what was expected (and, for sizes, a hint: why the
-- value is not one): the caller names the field.
local M = {}

-- Sizes follow one rule, here and in the README:
--   * an integer is bytes (4096), and so is a string of digits, with or
--     without "B" ("4096", "4096B");
--   * a number (decimals allowed: "1.5G") followed by a binary unit:
--     K, M, G, T, P (1K = 1024 bytes, 1M = 1048576), the same in lower case
--     (k, m, g, t, p: as the kernel's own memory.max reads them), or the
--     IEC names KiB, MiB, GiB, TiB, PiB (the same values); a fraction of
--     a byte is rounded down;
--   * anything else is an error, never a guess: "MB", "Mb", "mb", "kB"
--     (decimal megabytes or bits elsewhere), "1.5" bytes, "1e9", " 1G".
local UNIT = { [""] = 1, B = 1 }
for i, u in ipairs { "K", "M", "G", "T", "P" } do
  UNIT[u], UNIT[u:lower()], UNIT[u .. "iB"] = 1 << (10 * i), 1 << (10 * i), 1 << (10 * i)
end
M.SIZE_UNITS = 'units are binary: K, M, G, T, P (or k, m, g, t, p, or KiB, MiB, GiB, TiB, PiB), '
  .. '1M = 1048576 bytes; B or none is bytes'

-- sizes are below 4 EiB (2^62 bytes), durations at most a year
M.SIZE_MAX = 2^62
M.DURATION_MAX = 365 * 86400
local SIZE_MAX_INT = 1 << 62

-- size(v, allow_max, min): bytes as an integer >= min (default 0), or
-- "max" when allow_max; else nil, what was expected, and a hint (why this
-- value is not one) where there is more to say than "expected ..."
function M.size(v, allow_max, min)
  min = min or 0
  local what = (min > 0 and "a size above 0 like " or "a size like ") .. '1048576, "50M", "1.5G"'
    .. (allow_max and ' or "max"' or '') .. ', below 4 EiB'
  local n
  if type(v) == "number" then
    if v ~= v or v < 0 or v >= M.SIZE_MAX or math.floor(v) ~= v then
      return nil, what, v == v and v >= 0 and v < M.SIZE_MAX and "a size is a whole number of bytes" or nil
    end
    n = math.tointeger(v)
  elseif type(v) ~= "string" then
    return nil, what
  elseif v == "max" then
    if allow_max then return "max" end
    return nil, what
  else
    local num, u = v:match("^([%d%.]+)(%a*)$")
    local mul = num and UNIT[u]
    if not num or not (num:match("^%d+$") or num:match("^%d+%.%d+$")) then
      return nil, what
    elseif not mul then
      return nil, what, ("%q is not a unit: %s"):format(u, M.SIZE_UNITS)
    elseif mul == 1 and not num:match("^%d+$") then
      return nil, what, "a size in bytes is a whole number"
    end
    if num:match("^%d+$") then
      local i = math.tointeger(tonumber(num))
      if not i or i > (SIZE_MAX_INT - 1) // mul then return nil, what end
      n = i * mul
    else
      local f = tonumber(num) * mul
      if f >= M.SIZE_MAX then return nil, what end
      n = math.tointeger(math.floor(f))
    end
  end
  if not n then return nil, what end
  if n < min then
    return nil, what, n == 0 and 'a limit of 0 leaves the jail nothing: leave it out, or say "max", for no limit' or nil
  end
  return n
end

local DUR = { us = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 }

-- seconds (a float), > 0, at most a year
function M.duration(v)
  local what = 'a duration like 30, "30s", "500ms", "2m" or "1h", up to a year'
  if type(v) == "number" then
    if v ~= v or v <= 0 or v > M.DURATION_MAX then return nil, what end
    return v
  end
  if type(v) ~= "string" then return nil, what end
  local num, unit = v:match("^(%d+%.?%d*)(%a*)$")
  if not num then return nil, what end
  local mul = DUR[unit == "" and "s" or unit]
  local n = mul and tonumber(num) * mul
  if not n or n <= 0 or n > M.DURATION_MAX then return nil, what end
  return n
end

-- CPUs (0.5 = half a CPU) -> "quota period" for cpu.max
M.CPU_PERIOD = 100000
-- cpu.max: CPUs as a quota over the period (µs, default CPU_PERIOD)
function M.cpu(v, period)
  period = period or M.CPU_PERIOD
  local what = 'a number of CPUs > 0 like 0.5 or 2, or "max"'
  if v == "max" then return "max " .. period end
  if type(v) ~= "number" or v ~= v or v <= 0 or v > 4096 then return nil, what end
  local quota = math.floor(v * period + 0.5)
  if quota < 1000 then -- the kernel's least quota: 1 ms
    return nil, what .. (" (at least %g with a period of %d us)"):format(1000 / period, period)
  end
  return ("%d %d"):format(quota, period)
end

-- cgroup v1 cpu.shares (2..262144, as Docker and Kubernetes give them)
-- as cgroup v2 cpu.weight (1..10000): the quadratic in log2 that crun
-- and runc use since 2023 (2 -> 1, 1024 -> 100, 262144 -> 10000), not
-- the old linear 1 + (s - 2) * 9999 / 262142, which put 1024 at 39
function M.shares_to_weight(v)
  local what = "cpu.shares from 2 to 262144 (1024 is the default share)"
  if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" or v < 2 or v > 262144 then return nil, what end
  local l = math.log(v, 2)
  local w = math.ceil(10 ^ ((l * l + 125 * l) / 612.0 - 7.0 / 34.0) - 1e-9)
  return math.max(1, math.min(10000, w))
end

-- a positive integer count, or "max"
function M.count(v, allow_max, min)
  min = min or 1
  local what = ("an integer >= %d%s"):format(min, allow_max and ' or "max"' or "")
  if v == "max" and allow_max then return "max" end
  if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" or v < min then return nil, what end
  return v
end

-- a user or group id: 0 to 4294967294 (4294967295 is -1, "no change"
-- to the kernel: it would keep root)
function M.id(v)
  local what = "an id from 0 to 4294967294"
  if math.type(v) == "float" and v == math.floor(v) then v = math.tointeger(v) end
  if math.type(v) ~= "integer" or v < 0 or v > 4294967294 then return nil, what end
  return v
end

-- cpuset list syntax: "0", "0-3", "0,2-3"
function M.cpulist(v)
  local what = 'a CPU list like "0", "0-3" or "0,2-3"'
  if math.type(v) == "integer" and v >= 0 then return tostring(v) end
  if type(v) ~= "string" or v == "" then return nil, what end
  for part in (v .. ","):gmatch("([^,]*),") do
    local a, b = part:match("^(%d+)%-(%d+)$")
    if a then
      if tonumber(a) > tonumber(b) then return nil, what end
    elseif not part:match("^%d+$") then
      return nil, what
    end
  end
  return v
end

-- "0755" / 493 -> integer mode
function M.mode(v)
  local what = 'a mode like "0755" or 493'
  if math.type(v) == "integer" and v >= 0 and v <= 4095 then return v end
  if type(v) == "string" and v:match("^0?[0-7][0-7][0-7]$") or
     type(v) == "string" and v:match("^[0-7][0-7][0-7][0-7]$") then
    return tonumber(v, 8)
  end
  return nil, what
end

function M.format_size(n)
  if type(n) ~= "number" or n ~= n or n < 0 or n == math.huge then return "-" end
  local units = { "B", "K", "M", "G", "T" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  if i == 1 then return ("%dB"):format(math.floor(n)) end
  return ("%.1f%s"):format(n, units[i])
end

return M
