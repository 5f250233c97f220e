-- A small JSON encoder for results (--json): sorted keys, so output is
-- stable; bytes that are not valid UTF-8 are escaped as \u00XX of the byte
-- (read back as Latin-1: U+0080-U+00FF), controls as \u00XX; floats are
-- the shortest decimal that reads back as the same double, integers stay
-- integers, NaN and infinities are null.
local M = {}

local ESC = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
              ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

-- utf8_run(run, bad, fix): a run of bytes >= 0x80 with each byte that is
-- not part of a valid character (strict: no overlong form, surrogate or
-- code point above U+10FFFF) written as bad[byte], and each valid stretch
-- through fix (if given)
function M.utf8_run(run, bad, fix)
  if utf8.len(run) then return fix and fix(run) or run end -- the usual case
  local out, i, n = {}, 1, #run
  while i <= n do
    local ok, at = utf8.len(run, i)
    local j = ok and n + 1 or at
    if j > i then out[#out + 1] = fix and fix(run:sub(i, j - 1)) or run:sub(i, j - 1) end
    if j <= n then out[#out + 1] = bad[run:sub(j, j)] end
    i = j + 1
  end
  return table.concat(out)
end

-- "\u00XX" of each byte
local U00 = {}
for c = 0, 255 do U00[string.char(c)] = ("\\u%04x"):format(c) end

-- one match: an ASCII byte to escape and the bytes >= 0x80 after it, or
-- just a run of those; a lone byte (most matches in binary output) is one
-- lookup
local function escape(m)
  if #m == 1 then return ESC[m] or U00[m] end
  if m:byte(1) >= 0x80 then return M.utf8_run(m, U00) end
  local c = m:sub(1, 1)
  return (ESC[c] or U00[c]) .. M.utf8_run(m:sub(2), U00)
end

-- one pass in C over the bytes that need no escape (most of them)
local function str(s)
  return '"' .. s:gsub('[\0-\31"\\\127-\255][\128-\255]*', escape) .. '"'
end

-- the shortest of %.15g, %.16g, %.17g that reads back as the same double
-- (0.1 is "0.1", not "0.10000000000000001")
local function float(v)
  for digits = 15, 16 do
    local s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then return s end
  end
  return ("%.17g"):format(v)
end

local function isarray(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  for i = 1, n do if t[i] == nil then return false end end
  return true, n
end

local function enc(v, ind, lvl, seen)
  local t = type(v)
  if t == "nil" then return "null"
  elseif t == "boolean" then return tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if math.type(v) == "integer" then return tostring(v) end
    return float(v)
  elseif t == "string" then return str(v)
  elseif t == "table" then
    if seen[v] then error("json: cycle in table", 0) end
    seen[v] = true
    local nl = ind and "\n" .. (ind):rep(lvl + 1) or ""
    local close = ind and "\n" .. (ind):rep(lvl) or ""
    local sep = ind and ": " or ":"
    local parts = {}
    local arr, n = isarray(v)
    if arr and n > 0 then
      for i = 1, n do parts[i] = nl .. enc(v[i], ind, lvl + 1, seen) end
      seen[v] = nil
      return "[" .. table.concat(parts, ",") .. close .. "]"
    end
    local keys = {}
    for k, x in pairs(v) do
      if type(x) ~= "function" and type(x) ~= "userdata" then keys[#keys + 1] = tostring(k) end
    end
    table.sort(keys)
    for i, k in ipairs(keys) do
      local x = v[k]
      if x == nil then x = v[tonumber(k)] end
      parts[i] = nl .. str(k) .. sep .. enc(x, ind, lvl + 1, seen)
    end
    seen[v] = nil
    if #parts == 0 then return "{}" end
    return "{" .. table.concat(parts, ",") .. close .. "}"
  end
  return "null" -- functions, userdata: not data
end

function M.encode(v, indent)
  return enc(v, indent and (type(indent) == "string" and indent or "  "), 0, {})
end

return M
