-- Fuzz harness: the unit parsers (cgsandbox.units).  Oracles: each returns
-- a value in its documented range, or nil and a description; never raises.
local units = require "cgsandbox.units"
local V = require "luaval"

local function check(name, ok, v, what)
  if not ok then error(name .. " raised: " .. tostring(v), 0) end
  if v == nil then
    if type(what) ~= "string" or what == "" then error(name .. ": nil without a description", 0) end
    return false
  end
  return true
end

local function int_in(name, v, lo, hi)
  if math.type(v) ~= "integer" or v < lo or v > hi then
    error(("%s returned %s, outside %s..%s"):format(name, tostring(v), lo, hi), 0)
  end
end

return function(bytes)
  local v, sel = V.decode(bytes)
  local am = sel % 2 == 1
  local min = (sel // 2) % 2
  local ok, r, w = pcall(units.size, v, am, min)
  if check("size", ok, r, w) and r ~= "max" then int_in("size", r, min, units.SIZE_MAX - 1) end
  if r == "max" and not am then error("size gave max where it is not allowed", 0) end
  ok, r, w = pcall(units.duration, v)
  if check("duration", ok, r, w) and (type(r) ~= "number" or not (r > 0 and r <= units.DURATION_MAX)) then
    error("duration returned " .. tostring(r), 0)
  end
  ok, r, w = pcall(units.cpu, v)
  if check("cpu", ok, r, w) then
    local q, p = tostring(r):match("^(%d+) (%d+)$")
    if not q and not tostring(r):match("^max %d+$") then error("cpu returned " .. tostring(r), 0) end
    if q and (tonumber(q) < 1000 or tonumber(p) ~= units.CPU_PERIOD) then error("cpu returned " .. r, 0) end
  end
  ok, r, w = pcall(units.count, v, am, sel % 3)
  if check("count", ok, r, w) and r ~= "max" then int_in("count", r, sel % 3, math.maxinteger) end
  ok, r, w = pcall(units.id, v)
  if check("id", ok, r, w) then int_in("id", r, 0, 4294967294) end
  ok, r, w = pcall(units.cpulist, v)
  if check("cpulist", ok, r, w) and not tostring(r):match("^[%d,%-]+$") then error("cpulist returned " .. tostring(r), 0) end
  ok, r, w = pcall(units.mode, v)
  if check("mode", ok, r, w) then int_in("mode", r, 0, 4095) end
  ok, r = pcall(units.format_size, v)
  if not ok or type(r) ~= "string" then error("format_size: " .. tostring(r), 0) end
end
