-- A small JSON encoder for results (--json): sorted keys, so output is
-- stable; bytes that are not valid UTF-8 are escaped as \u00XX (Latin-1).
local M = {}

local ESC = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
              ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function str(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    local len = c < 0x80 and 1 or c >= 0xF0 and c < 0xF5 and 4 or c >= 0xE0 and 3
                or c >= 0xC2 and c < 0xE0 and 2 or 0
    local ok = len > 0 and i + len - 1 <= n
    if ok and len > 1 then
      ok = utf8.len(s, i, i + len - 1) == 1 and utf8.codepoint(s, i) ~= nil
    end
    if not ok then
      out[#out + 1] = ("\\u%04x"):format(c)
      i = i + 1
    elseif len == 1 then
      local ch = string.char(c)
      out[#out + 1] = ESC[ch] or (c < 0x20 or c == 0x7f) and ("\\u%04x"):format(c) or ch
      i = i + 1
    else
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    end
  end
  return '"' .. table.concat(out) .. '"'
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
    return (("%.17g"):format(v))
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
