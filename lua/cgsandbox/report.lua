-- Reports of a run's results: the summary table and the failures for a
-- person at a terminal, JUnit XML and JSON for CI, an HTML page for a
-- person at a browser (cgsandbox.report_html).  Captured output is the
-- jails' own bytes, so none of it reaches a terminal or an XML reader raw.
local json = require "cgsandbox.json"
local units = require "cgsandbox.units"

local M = {}

-- ---------------------------------------------------------------- inputs

local function check_results(results, fn)
  if type(results) ~= "table" then error(("report.%s: expected a list of results"):format(fn), 3) end
  for i = 1, #results do
    local r = results[i]
    if type(r) ~= "table" or type(r.status) ~= "string" then
      error(("report.%s: results[%d]: expected a result table with a status"):format(fn, i), 3)
    end
  end
  return results
end

local function check_opts(opts, fn)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(("report.%s: expected an options table"):format(fn), 3) end
  return opts
end

local function opt_seconds(v, what, fn)
  if v == nil then return nil end
  if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
    error(("report.%s: %s: expected seconds (a number >= 0)"):format(fn, what), 3)
  end
  return v
end

local function opt_count(v, default, what, fn)
  if v == nil then return default end
  if math.type(v) ~= "integer" or v < 0 then
    error(("report.%s: %s: expected an integer >= 0"):format(fn, what), 3)
  end
  return v
end

-- ------------------------------------------------------- names and kinds

-- one naming rule for JSON, the summary and JUnit
function M.name(r, i)
  if type(r) ~= "table" then error("report.name: expected a result table", 2) end
  if r.name ~= nil then return tostring(r.name) end
  if math.type(i) ~= "integer" then error("report.name: a result without a name needs its index", 2) end
  return "job " .. i
end

-- "passed", "failed", "error" (setup) or "skipped" (never started)
local function kind(r)
  if r.status == "exited" and r.exit_code == 0 then return "passed" end
  if r.status == "setup_error" then return "error" end
  if r.status == "skipped" then return "skipped" end
  return "failed"
end

-- what ended it, for a person: "exited 3", "timeout (wall)", ...
local function status_line(r)
  local s = r.status
  if s == "exited" then return "exited " .. tostring(r.exit_code) end
  if s == "signaled" then
    local sig = r.signal or ("signal " .. tostring(r.signal_number))
    return "signaled " .. sig .. (r.syscall and (" (syscall " .. r.syscall .. ")") or "")
  end
  if s == "oom" then return "oom (memory limit reached)" end
  if s == "timeout" then return "timeout (" .. tostring(r.timeout or "wall") .. ")" end
  return s .. (r.message and (": " .. tostring(r.message)) or "")
end

-- the message of a JUnit <failure>: "status exited, exit 3", "status oom"
local function failure_message(r)
  local s = r.status
  if s == "exited" then return ("status exited, exit %s"):format(tostring(r.exit_code)) end
  if s == "signaled" then
    return "status signaled, " .. (r.signal or ("signal " .. tostring(r.signal_number)))
  end
  if s == "timeout" then return ("status timeout (%s)"):format(tostring(r.timeout or "wall")) end
  return "status " .. s .. (r.message and (": " .. tostring(r.message)) or "")
end

-- ------------------------------------------------------------ the bytes

-- "\xNN" of each byte (a table: gsub looks it up without a call)
local HEX = {}
for c = 0, 255 do HEX[string.char(c)] = ("\\x%02x"):format(c) end

-- valid characters shown as \xNN all the same: the C1 controls
-- (U+0080-U+009F: a terminal may take U+009B as CSI) and U+FFFE/U+FFFF
-- (no XML character).  In valid UTF-8 these bytes are only ever those.
local function hex_all(m) return (m:gsub(".", HEX)) end
local function refuse(s)
  if not s:find("[\xC2\xEF]") then return s end
  return (s:gsub("\xC2[\x80-\x9F]", hex_all):gsub("\xEF\xBF[\xBE\xBF]", hex_all))
end

-- one pass in C over the bytes a reader may get as they are: a match is
-- an ASCII byte to replace (by esc, else as \xNN) with the bytes >= 0x80
-- after it, or a run of those
local function cleaner(ascii, esc)
  local pattern = "[" .. ascii .. "\127-\255][\128-\255]*"
  -- a lone byte (most matches in binary output): one lookup
  local single = setmetatable({}, { __index = HEX })
  for c, e in pairs(esc) do single[c] = e end
  local function one(m)
    if #m == 1 then return single[m] end
    if m:byte(1) >= 0x80 then return json.utf8_run(m, HEX, refuse) end
    return single[m:sub(1, 1)] .. json.utf8_run(m:sub(2), HEX, refuse)
  end
  return function(s) return (s:gsub(pattern, one)) end
end

-- for a terminal: every control but tab and newline as \xNN
local term = cleaner("\0-\8\11-\31", {})

-- tail(s, n): the last n lines of s, a suffix of it (a final "\n" ends the
-- last line; it starts no empty one)
function M.tail(s, n)
  if type(s) ~= "string" then error("report.tail: expected a string", 2) end
  if math.type(n) ~= "integer" or n < 0 then error("report.tail: expected a line count >= 0", 2) end
  if n == 0 then return "" end
  -- where the last n lines start, in a ring (find runs in C; a Lua loop
  -- over megabytes of output would not)
  local starts, count, from = { 1 }, 1, 1
  while true do
    local p = s:find("\n", from, true)
    if not p or p == #s then break end
    count = count + 1
    starts[(count - 1) % n + 1] = p + 1
    from = p + 1
  end
  if count <= n then return s end
  return s:sub(starts[(count - n) % n + 1])
end

-- what a failure shows of a job's output: stderr, or stdout without it
local function output_of(r)
  if type(r.stderr) == "string" and #r.stderr > 0 then return r.stderr end
  if type(r.stdout) == "string" and #r.stdout > 0 then return r.stdout end
  return nil
end

-- ------------------------------------------------------------- summary

local function plural(n, word)
  return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

-- counts of each kind
local function totals(results)
  local t = { passed = 0, failed = 0, error = 0, skipped = 0 }
  for _, r in ipairs(results) do
    local k = kind(r)
    t[k] = t[k] + 1
  end
  return t
end

local function row(r, i)
  local cells = {
    M.name(r, i),
    r.status .. (r.timeout and ("(" .. tostring(r.timeout) .. ")") or ""),
    tostring(r.exit_code or "-") .. (r.signal and (" " .. tostring(r.signal)) or ""),
    r.wall_s and ("%.2fs"):format(r.wall_s) or "-",
    r.cpu_s and ("%.2fs"):format(r.cpu_s) or "-",
    r.memory_peak and units.format_size(r.memory_peak) or "-",
  }
  for c, v in ipairs(cells) do cells[c] = term(v) end
  return cells
end

-- summary(results, { elapsed_s = N }) -> the table, then one totals line
function M.summary(results, opts)
  check_results(results, "summary")
  opts = check_opts(opts, "summary")
  local elapsed = opt_seconds(opts.elapsed_s, "elapsed_s", "summary")
  local rows = { { "job", "status", "exit", "wall", "cpu", "peak mem" } }
  for i, r in ipairs(results) do rows[#rows + 1] = row(r, i) end
  -- widths in characters: names are UTF-8 by now
  local w = {}
  for _, cells in ipairs(rows) do
    for c, v in ipairs(cells) do w[c] = math.max(w[c] or 0, utf8.len(v)) end
  end
  local out = {}
  for _, cells in ipairs(rows) do
    local padded = {}
    for c, v in ipairs(cells) do padded[c] = v .. (" "):rep(w[c] - utf8.len(v)) end
    out[#out + 1] = (table.concat(padded, "  "):gsub("%s+$", ""))
  end
  local t = totals(results)
  out[#out + 1] = ("%s: %d passed, %d failed, %s, %d skipped%s"):format(
    plural(#results, "job"), t.passed, t.failed, plural(t.error, "error"), t.skipped,
    elapsed and (" in %.2fs"):format(elapsed) or "")
  return table.concat(out, "\n") .. "\n"
end

-- ------------------------------------------------------------- failures

-- a line longer than this shows its end only: a job that wrote megabytes
-- without a newline does not flood the terminal
local LINE_MAX = 1000

-- the lines of text; a final "\n" ends the last one
local function lines_of(text)
  local out, i = {}, 1
  while i <= #text do
    local j = text:find("\n", i, true) or #text + 1
    out[#out + 1] = text:sub(i, j - 1)
    i = j + 1
  end
  return out
end

local function indented(text)
  local out = {}
  for _, line in ipairs(lines_of(text)) do
    if #line > LINE_MAX then line = "..." .. line:sub(-LINE_MAX) end
    out[#out + 1] = "    " .. term(line)
  end
  return out
end

-- failures(results, { lines = 10 }) -> for each job that neither passed
-- nor was skipped, "name: status" and the last lines of its output
function M.failures(results, opts)
  check_results(results, "failures")
  opts = check_opts(opts, "failures")
  local lines = opt_count(opts.lines, 10, "lines", "failures")
  local out = {}
  for i, r in ipairs(results) do
    local k = kind(r)
    if k == "failed" or k == "error" then
      out[#out + 1] = term(M.name(r, i) .. ": " .. status_line(r))
      local text = output_of(r)
      if text and lines > 0 then
        for _, l in ipairs(indented(M.tail(text, lines))) do out[#out + 1] = l end
      end
    end
  end
  if #out == 0 then return "" end
  return table.concat(out, "\n") .. "\n"
end

-- ---------------------------------------------------------------- JUnit

-- XML 1.0 holds no C0 control but tab, LF and CR, not even as &#N;: the
-- others (and invalid UTF-8) become \xNN text.  Escaping every ">" keeps a
-- "]]>" harmless; CR, and in attributes tab and LF, are written as
-- references so that parsers do not normalize them away.
local xml_text = cleaner("\0-\8\11-\31&<>", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                                ["\r"] = "&#13;" })
local xml_attr = cleaner("\0-\31&<>\"", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["\r"] = "&#13;", ["\n"] = "&#10;",
                                          ["\t"] = "&#9;" })

-- Ant's form: ISO 8601 in UTC without a zone
local function iso8601(t) return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) end

local function kernel_hostname()
  local f = io.open("/proc/sys/kernel/hostname")
  local h = f and f:read("l")
  if f then f:close() end
  return h and #h > 0 and h or "localhost"
end

local function properties(props)
  if props == nil then return nil end
  if type(props) ~= "table" then error("report.junit: properties: expected { name = value }", 3) end
  local keys = {}
  for k, v in pairs(props) do
    local tv = type(v)
    if type(k) ~= "string" or (tv ~= "string" and tv ~= "number" and tv ~= "boolean") then
      error(("report.junit: properties: %s: expected a string name and a string, number or boolean value")
            :format(tostring(k)), 3)
    end
    keys[#keys + 1] = k
  end
  if #keys == 0 then return nil end
  table.sort(keys)
  local out = { "  <properties>" }
  for _, k in ipairs(keys) do
    out[#out + 1] = ('    <property name="%s" value="%s"/>'):format(xml_attr(k), xml_attr(tostring(props[k])))
  end
  out[#out + 1] = "  </properties>"
  return table.concat(out, "\n")
end

-- what a testcase holds besides its output
local function verdict(r, lines)
  local k = kind(r)
  local text = output_of(r)
  text = text and lines > 0 and xml_text(M.tail(text, lines)) or ""
  if k == "failed" then
    return ('<failure message="%s" type="%s">%s</failure>'):format(
      xml_attr(failure_message(r)), xml_attr(r.status), text)
  elseif k == "error" then
    local where = r.step and ("step " .. r.step .. (r.errno and (" (" .. r.errno .. ")") or "") .. "\n") or ""
    return ('<error message="%s" type="setup_error">%s%s</error>'):format(
      xml_attr(tostring(r.message or "setup failed")), xml_text(where), text)
  elseif k == "skipped" then
    return r.message and ('<skipped message="%s"/>'):format(xml_attr(tostring(r.message))) or "<skipped/>"
  end
  return ""
end

local function testcase(r, i, suite, lines)
  local body = { verdict(r, lines) }
  if type(r.stdout) == "string" and #r.stdout > 0 then
    body[#body + 1] = "<system-out>" .. xml_text(r.stdout) .. "</system-out>"
  end
  if type(r.stderr) == "string" and #r.stderr > 0 then
    body[#body + 1] = "<system-err>" .. xml_text(r.stderr) .. "</system-err>"
  end
  return ('  <testcase classname="%s" name="%s" time="%.3f">%s</testcase>'):format(
    xml_attr(suite), xml_attr(M.name(r, i)), r.wall_s or 0, table.concat(body))
end

-- junit(results, { suite = name, elapsed_s = N, timestamp = epoch s of the
-- start, hostname = s, properties = { k = v }, lines = 20 }) -> one
-- <testsuite> document (doc/junit.xsd); time is the run's elapsed time
function M.junit(results, opts)
  check_results(results, "junit")
  if type(opts) ~= "table" then error("report.junit: expected options { suite = name, elapsed_s = N }", 2) end
  if type(opts.suite) ~= "string" or opts.suite == "" then error("report.junit: suite: expected a name", 2) end
  local elapsed = opt_seconds(opts.elapsed_s, "elapsed_s", "junit")
  if not elapsed then error("report.junit: elapsed_s: expected the run's elapsed seconds", 2) end
  local start = opt_seconds(opts.timestamp, "timestamp", "junit") or (os.time() - elapsed)
  if opts.hostname ~= nil and (type(opts.hostname) ~= "string" or opts.hostname == "") then
    error("report.junit: hostname: expected a name", 2)
  end
  local lines = opt_count(opts.lines, 20, "lines", "junit")
  local t = totals(results)
  local out = {
    '<?xml version="1.0" encoding="UTF-8"?>',
    ('<testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%.3f" timestamp="%s" hostname="%s">')
      :format(xml_attr(opts.suite), #results, t.failed, t.error, t.skipped, elapsed, iso8601(start),
              xml_attr(opts.hostname or kernel_hostname())),
    properties(opts.properties),
  }
  for i, r in ipairs(results) do out[#out + 1] = testcase(r, i, opts.suite, lines) end
  out[#out + 1] = "</testsuite>"
  return table.concat(out, "\n") .. "\n"
end

-- ----------------------------------------------------------------- HTML

-- HTML text and attribute values alike: the five markup characters as
-- references, controls but tab and LF (and invalid UTF-8) as \xNN text
local html_text = cleaner("\0-\8\11-\31&<>\"'", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                                  ['"'] = "&quot;", ["'"] = "&#39;" })

-- html(results, { title = s, elapsed_s = N, timestamp = epoch s of the
-- start, lines = 40, max_points = 500, chartjs = path, version = s }) ->
-- the report page: one self-contained HTML file (cgsandbox.report_html,
-- loaded on first use); raises when Chart.js (libjs-chart.js) is missing
function M.html(results, opts)
  check_results(results, "html")
  opts = check_opts(opts, "html")
  return require("cgsandbox.report_html").page(results, opts, {
    kind = kind, status_line = status_line, tail = M.tail, name = M.name, html = html_text,
  })
end

-- ----------------------------------------------------------------- JSON

-- json(result or list of results) -> the text of a --json file (pretty,
-- ending in a newline); an empty table is an empty list: every result has
-- a status
function M.json(value)
  if type(value) ~= "table" then error("report.json: expected a result or a list of results", 2) end
  if next(value) == nil then return "[]\n" end
  return json.encode(value, true) .. "\n"
end

return M
