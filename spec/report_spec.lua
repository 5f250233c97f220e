-- Reports (cgsandbox.report): the summary and failures a person reads, and
-- the JUnit XML and JSON that CI tools read, checked with real consumers:
-- xmllint against doc/junit.xsd, python3-junitparser, python3-jsonschema
-- against doc/result.schema.json, and jq.
local H = require "spec.support.helper"
local report = require "cgsandbox.report"
local json = require "cgsandbox.json"

-- Debian's python3 (its packages), not one earlier on PATH
local PY = "/usr/bin/python3"

local function write(s)
  local f = os.tmpname()
  local fh = assert(io.open(f, "wb"))
  fh:write(s)
  fh:close()
  return f
end

local read = H.read

local function py(code, ...)
  local f = write(code)
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = ("'%s'"):format(a) end
  local out, rc = H.sh(("%s %s %s"):format(PY, f, table.concat(args, " ")))
  os.remove(f)
  return out, rc
end

local function xmllint(file)
  return H.sh(("xmllint --noout --schema %s/doc/junit.xsd %s"):format(H.root, file))
end

-- validates each file against doc/result.schema.json; prints "valid" or why not
local VALIDATE = [==[
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for f in sys.argv[2:]:
    for e in v.iter_errors(json.load(open(f))):
        bad += 1
        print(f, list(e.absolute_path), e.message)
print("invalid" if bad else "valid")
sys.exit(1 if bad else 0)
]==]

local function schema_check(...)
  return py(VALIDATE, H.root .. "/doc/result.schema.json", ...)
end

local function jq(expr, file)
  return H.sh(("jq -e %s %s"):format(("'%s'"):format(expr), file))
end

-- the shortest %.15g/%.16g/%.17g that reads back as x
local function shortest(x)
  for d = 15, 17 do
    local s = ("%." .. d .. "g"):format(x)
    if tonumber(s) == x then return s end
  end
end

-- one result of each status, synthetic where no jail here produces it
local function synthetic()
  return {
    { name = "pass", status = "exited", exit_code = 0, wall_s = 0.25, cpu_s = 0.5,
      memory_peak = 3 * 1048576, stdout = "ok\n" },
    { name = "build", status = "exited", exit_code = 3, wall_s = 1.5, stderr = "one\ntwo\nthree\n" },
    { name = "t2", status = "oom", exit_code = 137, signal = "SIGKILL", signal_number = 9, wall_s = 0.5,
      oom_kills = 1 },
    { name = "t3", status = "timeout", timeout = "wall", exit_code = 137, signal = "SIGKILL",
      signal_number = 9, wall_s = 2 },
    { name = "t4", status = "setup_error", exit_code = 127, step = "exec", errno = "ENOENT",
      message = "exec /bin/nope: No such file or directory" },
    { status = "signaled", exit_code = 139, signal = "SIGSEGV", signal_number = 11, wall_s = 0.125 },
    { name = "int", status = "interrupted", exit_code = 130, signal = "SIGINT", signal_number = 2,
      wall_s = 0.75, message = "the host was interrupted" },
    { name = "later", status = "skipped", message = "not started: interrupted" },
  }
end

-- every byte value, and the sequences that break naive writers
local HOSTILE = (function()
  local t = {}
  for c = 0, 255 do t[#t + 1] = string.char(c) end
  return table.concat(t) .. "\n]]> <&\"' \xed\xa0\x80 \xef\xbf\xbe \xc2\x9b \xe2\x82\xac\n"
end)()

describe("report.name and report.tail", function()
  it("names a job by its name, else by its place in the list", function()
    assert.are.equal("build", report.name({ name = "build", status = "exited" }, 4))
    assert.are.equal("job 4", report.name({ status = "exited" }, 4))
    assert.has_error(function() report.name({ status = "exited" }) end,
                     "report.name: a result without a name needs its index")
    assert.has_error(function() report.name("x", 1) end, "report.name: expected a result table")
  end)

  it("tail keeps the last n lines as a suffix; a final newline starts no empty line", function()
    assert.are.equal("b\nc\n", report.tail("a\nb\nc\n", 2))
    assert.are.equal("b\nc", report.tail("a\nb\nc", 2))
    assert.are.equal("a\nb\nc\n", report.tail("a\nb\nc\n", 10))
    assert.are.equal("\n", report.tail("x\n\n", 1))
    assert.are.equal("", report.tail("a\nb\n", 0))
    assert.are.equal("", report.tail("", 3))
    assert.has_error(function() report.tail(nil, 1) end, "report.tail: expected a string")
    assert.has_error(function() report.tail("a", -1) end, "report.tail: expected a line count >= 0")
    assert.has_error(function() report.tail("a", 1.5) end, "report.tail: expected a line count >= 0")
  end)
end)

describe("report.summary", function()
  it("is the table of jobs, then the totals and the run's elapsed time", function()
    local s = report.summary(synthetic(), { elapsed_s = 3.214 })
    local lines = {}
    for l in s:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    assert.are.equal(10, #lines, s)
    assert.truthy(lines[1]:find("^job%s+status%s+exit%s+wall%s+cpu%s+peak mem$"), s)
    assert.truthy(lines[2]:find("^pass%s+exited%s+0%s+0%.25s%s+0%.50s%s+3%.0M$"), s)
    assert.truthy(lines[5]:find("^t3%s+timeout%(wall%)%s+137 SIGKILL"), s)
    assert.truthy(lines[7]:find("^job 6%s+signaled%s+139 SIGSEGV"), s)
    assert.truthy(lines[9]:find("^later%s+skipped%s+%-%s+%-%s+%-%s+%-$"), s)
    assert.are.equal("8 jobs: 1 passed, 5 failed, 1 error, 1 skipped in 3.21s", lines[10])
  end)

  it("counts errors and skips by status, in plain words, and leaves out a time it was not given", function()
    local rs = { { status = "setup_error", message = "a" }, { status = "setup_error", message = "b" },
                 { status = "skipped" } }
    assert.truthy(report.summary(rs):find("\n3 jobs: 0 passed, 0 failed, 2 errors, 1 skipped\n$"))
    assert.truthy(report.summary({ { status = "exited", exit_code = 0 } }, {})
                  :find("\n1 job: 1 passed, 0 failed, 0 errors, 0 skipped\n$"))
    assert.truthy(report.summary({}):find("^job.-\n0 jobs: 0 passed"))
  end)

  it("shows a name's control bytes and invalid UTF-8 as \\xNN and aligns by characters", function()
    local s = report.summary({ { name = "\27[2J\255é", status = "exited", exit_code = 0 },
                               { name = "x", status = "exited", exit_code = 1 } })
    assert.is_nil(s:find("\27", 1, true))
    assert.is_nil(s:find("\255", 1, true))
    -- "\x1b[2J\xffé" is 12 characters: the status column starts at the 15th
    local row1, row2 = s:match("\n([^\n]*)\n([^\n]*)\n")
    assert.are.equal("\\x1b[2J\\xffé  exited", row1:match("^(.-)%s+0 "))
    assert.are.equal(15, utf8.len(row2:match("^(x%s+)exited")) + 1)
    assert.are.equal(15, utf8.len(row1:match("^(.-)exited")) + 1)
  end)

  it("raises on misuse", function()
    assert.has_error(function() report.summary(nil) end, "report.summary: expected a list of results")
    assert.has_error(function() report.summary({ {} }) end,
                     "report.summary: results[1]: expected a result table with a status")
    assert.has_error(function() report.summary({}, { elapsed_s = "1s" }) end,
                     "report.summary: elapsed_s: expected seconds (a number >= 0)")
  end)
end)

describe("report.failures", function()
  it("names every job that neither passed nor was skipped, with how it ended", function()
    local s = report.failures(synthetic())
    local heads = {}
    for l in s:gmatch("([^\n]*)\n") do
      if not l:find("^    ") then heads[#heads + 1] = l end
    end
    assert.are.same({ "build: exited 3", "t2: oom (memory limit reached)", "t3: timeout (wall)",
                      "t4: setup_error: exec /bin/nope: No such file or directory",
                      "job 6: signaled SIGSEGV", "int: interrupted: the host was interrupted" }, heads)
    assert.truthy(s:find("build: exited 3\n    one\n    two\n    three\nt2:", 1, true), s)
  end)

  it("shows the last lines of stderr (default 10), else of stdout, each indented by 4", function()
    local err = {}
    for i = 1, 15 do err[i] = "line " .. i end
    local r = { name = "b", status = "exited", exit_code = 1, stderr = table.concat(err, "\n") .. "\n",
                stdout = "not this\n" }
    local s = report.failures({ r })
    assert.is_nil(s:find("line 5\n", 1, true), s)
    assert.truthy(s:find("^b: exited 1\n    line 6\n.*    line 15\n$"), s)
    assert.are.equal("b: exited 1\n    line 14\n    line 15\n", report.failures({ r }, { lines = 2 }))
    r.stderr = ""
    assert.are.equal("b: exited 1\n    not this\n", report.failures({ r }))
    assert.are.equal("b: exited 1\n", report.failures({ r }, { lines = 0 }))
  end)

  it("never sends a terminal raw control bytes or invalid UTF-8", function()
    local s = report.failures({ { name = "x\27]0;title\7", status = "exited", exit_code = 2, stderr = HOSTILE } },
                              { lines = 5 })
    assert.is_nil(s:find("[%z\1-\8\11-\31\127]"), s)
    assert.truthy(utf8.len(s), "invalid UTF-8 in " .. s)
    assert.truthy(s:find("x\\x1b]0;title\\x07: exited 2\n", 1, true), s)
    assert.truthy(s:find("    \\x00\\x01", 1, true), s)
    assert.truthy(s:find("\\xff", 1, true) and s:find("\\x1b", 1, true) and s:find("\\x7f", 1, true))
    -- a surrogate, U+FFFE and the C1 CSI shown; the euro sign kept
    assert.truthy(s:find("\\xed\\xa0\\x80 \\xef\\xbf\\xbe \\xc2\\x9b \xe2\x82\xac", 1, true), s)
    assert.truthy(s:find("    ]]> <&\"' ", 1, true), s)
    assert.are.equal("j: exited 1\n    é\\xff€\\xc2\\x9bé\\xe2\\x82\n",
                     report.failures({ { name = "j", status = "exited", exit_code = 1, stderr = "é\255€\xc2\x9bé\xe2\x82" } }))
  end)

  it("is empty when nothing failed, and raises on misuse", function()
    assert.are.equal("", report.failures({ { status = "exited", exit_code = 0 }, { status = "skipped" } }))
    assert.are.equal("", report.failures({}))
    assert.has_error(function() report.failures({}, { lines = -1 }) end,
                     "report.failures: lines: expected an integer >= 0")
  end)
end)

describe("report.junit", function()
  local OPTS = { suite = "ci", elapsed_s = 2.5, timestamp = 1796126400, hostname = "build-7",
                 properties = { sandboxlua = "0.1.0", parallel = 4, warm = false } }

  it("is valid against doc/junit.xsd, and the schema refuses what is not our shape", function()
    local f = write(report.junit(synthetic(), OPTS))
    local out, rc = xmllint(f)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("validates"), out)
    -- the XSD is not a rubber stamp: a zone on the timestamp, a missing count
    local bad = write((read(f):gsub('timestamp="([^"]*)"', 'timestamp="%1Z"')))
    local bad2 = write((read(f):gsub(' skipped="%d+"', "", 1)))
    os.remove(f)
    local o2, rc2 = xmllint(bad)
    local o3, rc3 = xmllint(bad2)
    os.remove(bad)
    os.remove(bad2)
    assert.are_not.equal(0, rc2, o2)
    assert.truthy(o2:find("timestamp", 1, true), o2)
    assert.are_not.equal(0, rc3, o3)
    assert.truthy(o3:find("skipped", 1, true), o3)
  end)

  it("counts by status, takes the run's elapsed time and start, and reads back in junitparser", function()
    local xml = report.junit(synthetic(), OPTS)
    assert.truthy(xml:find('<testsuite name="ci" tests="8" failures="5" errors="1" skipped="1" time="2.500" '
                           .. 'timestamp="2026-12-01T12:00:00" hostname="build-7">', 1, true), xml)
    local f = write(xml)
    local out, rc = py([==[
import sys, junitparser
s = junitparser.JUnitXml.fromfile(sys.argv[1])
assert isinstance(s, junitparser.TestSuite), type(s)
assert (s.name, s.tests, s.failures, s.errors, s.skipped) == ("ci", 8, 5, 1, 1), vars(s)
assert s.time == 2.5, s.time          # elapsed, not the jobs' 5.625 s
assert s.timestamp == "2026-12-01T12:00:00" and s.hostname == "build-7"
assert {p.name: p.value for p in s.properties()} == {"sandboxlua": "0.1.0", "parallel": "4", "warm": "false"}
cases = {c.name: c for c in s}
assert list(cases) == ["pass", "build", "t2", "t3", "t4", "job 6", "int", "later"], list(cases)
def one(name):
    rs = cases[name].result
    assert len(rs) == 1, (name, rs)
    return rs[0]
assert cases["pass"].is_passed and cases["pass"].system_out == "ok\n"
b = one("build")
assert isinstance(b, junitparser.Failure) and b.message == "status exited, exit 3" and b.type == "exited"
assert b.text == "one\ntwo\nthree\n", repr(b.text)
assert one("t2").message == "status oom" and one("t3").message == "status timeout (wall)"
assert one("job 6").message == "status signaled, SIGSEGV"
e = one("t4")
assert isinstance(e, junitparser.Error) and e.message == "exec /bin/nope: No such file or directory"
assert e.type == "setup_error"
i = one("int")
assert isinstance(i, junitparser.Failure) and i.type == "interrupted", i
k = one("later")
assert isinstance(k, junitparser.Skipped) and k.message == "not started: interrupted"
assert cases["later"].time == 0 and cases["build"].time == 1.5
print("ok")
]==], f)
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.are.equal("ok\n", out)
  end)

  it("stays well-formed and valid whatever bytes the jobs wrote, and junitparser reads them back", function()
    local rs = { { name = "n" .. HOSTILE, status = "exited", exit_code = 1, stdout = HOSTILE, stderr = HOSTILE },
                 { name = "e", status = "setup_error", message = HOSTILE, exit_code = 125 } }
    local xml = report.junit(rs, { suite = "s" .. HOSTILE, elapsed_s = 0, timestamp = 0, hostname = "h",
                                   properties = { ["p" .. HOSTILE] = HOSTILE } })
    assert.is_nil(xml:find("[%z\1-\8\11\12\14-\31\127]"))
    assert.truthy(utf8.len(xml), "invalid UTF-8")
    assert.is_nil(xml:find("]]>", 1, true))
    local f = write(xml)
    local out, rc = xmllint(f)
    assert.are.equal(0, rc, out)
    out, rc = py([==[
import sys, junitparser
s = junitparser.JUnitXml.fromfile(sys.argv[1])
c = list(s)
f = c[0].result[0]
# the text is the tail of stderr: its printable part reads back as written
for want in ("]]> <&\"' ", "\\x00\\x01", "\\x1b", "\\xff", " \\xef\\xbf\\xbe \\xc2\\x9b \u20ac\n"):
    assert want in f.text, (want, f.text)
    assert want in c[0].system_out and want in c[0].system_err
assert "\t\n" in c[0].system_out and "\r" in c[0].system_out   # kept: XML holds them
assert c[0].name.startswith("n\\x00") and "]]> <&\"'" in c[0].name
assert "]]> <&\"'" in c[1].result[0].message
assert "\t\n\\x0b\\x0c\r\\x0e" in c[1].result[0].message       # attribute whitespace survives
assert s.name.startswith("s\\x00") and "]]> <&\"'" in s.name
print("ok")
]==], f)
    os.remove(f)
    assert.are.equal(0, rc, out)
  end)

  it("raises on misuse", function()
    assert.has_error(function() report.junit({}, nil) end,
                     "report.junit: expected options { suite = name, elapsed_s = N }")
    assert.has_error(function() report.junit({}, { elapsed_s = 1 }) end, "report.junit: suite: expected a name")
    assert.has_error(function() report.junit({}, { suite = "", elapsed_s = 1 }) end, "report.junit: suite: expected a name")
    assert.has_error(function() report.junit({}, { suite = "s", elapsed_s = 1, hostname = "" }) end,
                     "report.junit: hostname: expected a name")
    assert.has_error(function() report.junit({}, { suite = "s" }) end,
                     "report.junit: elapsed_s: expected the run's elapsed seconds")
    assert.has_error(function() report.junit({}, { suite = "s", elapsed_s = 0 / 0 }) end,
                     "report.junit: elapsed_s: expected seconds (a number >= 0)")
    assert.has_error(function() report.junit({}, { suite = "s", elapsed_s = 1, properties = { x = {} } }) end)
    assert.has_error(function() report.junit({ 5 }, { suite = "s", elapsed_s = 1 }) end,
                     "report.junit: results[1]: expected a result table with a status")
  end)
end)

describe("report.json and the encoder", function()
  it("writes floats as the shortest decimal that reads back, integers as integers, NaN and inf as null", function()
    assert.are.equal('[0.1,0.30000000000000004,0.3333333333333333,1e+300,5,-7,null,null]',
                     json.encode({ 0.1, 0.1 + 0.2, 1 / 3, 1e300, 5, -7, 0 / 0, 1 / 0 }))
    assert.are.equal("2", json.encode(2.0))
    -- any double: reads back the same, never longer than it must be
    local seed = 12345
    for _ = 1, 2000 do
      seed = (seed * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
      local x = string.unpack("d", string.pack("i8", seed))
      if x == x and x ~= math.huge and x ~= -math.huge then
        local s = json.encode(x)
        assert.are.equal(x, tonumber(s))
        assert.are.equal(shortest(x), s)
      end
    end
  end)

  it("escapes controls and each invalid UTF-8 byte as \\u00XX, keeping valid UTF-8", function()
    assert.are.equal([["a\u00ff\u0001\n\"\\\u001b\u007f€\u00ed\u00a0\u0080"]],
                     json.encode("a\255\1\n\"\\\27\127€\xed\xa0\x80"))
    -- valid characters around invalid bytes in one run of bytes >= 0x80
    assert.are.equal([["é\u00ff€é\u0080é\u00c3"]], json.encode("é\255€\xc3\xa9\x80é\xc3"))
    local f = write(json.encode({ s = HOSTILE }))
    local out, rc = py([==[
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))["s"]
want = "".join(chr(c) for c in range(256))   # each byte read back as U+00XX
assert s.startswith(want), repr(s[:300])
print("ok")
]==], f)
    os.remove(f)
    assert.are.equal(0, rc, out)
  end)

  it("report.json: pretty text of a file, an empty list as []", function()
    assert.are.equal("[]\n", report.json({}))
    assert.are.equal('{\n  "exit_code": 0,\n  "status": "exited"\n}\n', report.json({ status = "exited", exit_code = 0 }))
    assert.has_error(function() report.json("x") end, "report.json: expected a result or a list of results")
  end)
end)

describe("doc/result.schema.json", function()
  it("accepts a real run's timeline, io, limits and clock fields, and refuses a malformed timeline", function()
    local dir = H.tmpdir()
    finally(function() os.execute("rm -rf " .. dir) end)
    local rf = H.recipe_file(("return { { rootfs = %q, command = { '/bin/sh', '-c', 'sleep 0.1; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done' }, "
                              .. "limits = { memory = '64M', pids = 16, cpu = 1, optional = true } }, "
                              .. "{ rootfs = %q, command = { '/bin/true' } } }"):format(H.busybox, H.busybox))
    local out, rc = H.sh(("%s -q --sample 10ms --json %s/r.json %s"):format(H.bin, dir, rf))
    os.remove(rf)
    assert.are.equal(0, rc, out)
    local o, r = schema_check(dir .. "/r.json")
    assert.are.equal(0, r, o)
    local _, jrc = jq(".[0].timeline.t | length >= 1", dir .. "/r.json")
    assert.are.equal(0, jrc)
    _, jrc = jq(".[0].started_at > 1.7e9 and .[0].ended_at >= .[0].started_at", dir .. "/r.json")
    assert.are.equal(0, jrc)
    for _, b in ipairs({ { status = "exited", exit_code = 0, timeline = { interval = 0.1 } },
                         { status = "exited", exit_code = 0, timeline = { interval = 0.1, t = { 0.1 }, memory = { -1 } } },
                         { status = "exited", exit_code = 0, timeline = { interval = 0.1, t = { 0.1 }, bogus = { 1 } } },
                         { status = "exited", exit_code = 0, io = { { name = "vda" } } },
                         { status = "exited", exit_code = 0, cpu_max = -0.5 } }) do
      local f = write(report.json({ b }))
      local o2, r2 = schema_check(f)
      os.remove(f)
      assert.are.equal(1, r2, json.encode(b) .. " passed: " .. o2)
    end
  end)

  it("accepts every status and field; refuses unknown keys, wrong types and missing fields", function()
    local rs = synthetic()
    rs[1].skipped_controllers = { "memory", "pids" }
    rs[1].trace = { { where = "host", step = "cgroup", ms = 0.125 }, { where = "init", step = "masks", ms = 0.5 } }
    rs[1].pooled, rs[1].hook_errors, rs[1].output_truncated = true, { "hook on_exit failed: x" }, true
    rs[1].cgroup, rs[1].memory_current, rs[1].cpu_user_s, rs[1].cpu_system_s = "/sys/fs/cgroup/x", 4096, 0.1, 0.025
    rs[1].throttled_s, rs[1].nr_throttled, rs[1].pids_current, rs[1].pids_max_hits = 0, 0, 1, 0
    rs[1].oom_group_kills, rs[1].memory_high_events, rs[1].memory_max_events = 0, 0, 0
    rs[6].core_dumped, rs[6].syscall = true, "getpid"
    -- an OOM kill of a shell's child: the shell exited 137, no signal of its own
    rs[#rs + 1] = { name = "child-oom", status = "oom", exit_code = 137, oom_kills = 1 }
    local ok = write(report.json(rs))
    local one = write(report.json(rs[2]))
    local out, rc = schema_check(ok, one)
    os.remove(ok)
    os.remove(one)
    assert.are.equal(0, rc, out)
    for _, b in ipairs({ { status = "exited", exit_code = 0, stdot = "typo" },
                         { status = "exited", exit_code = 0, stdout = 3 },
                         { status = "exited" },
                         { status = "bogus" },
                         { status = "timeout", exit_code = 137 },
                         { status = "signaled", exit_code = 139 },
                         { status = "setup_error", exit_code = 125 },
                         { status = "exited", exit_code = 0, skipped_controllers = "memory" },
                         { status = "exited", exit_code = 0, wall_s = -1 } }) do
      local f = write(report.json({ b }))
      local o, r = schema_check(f)
      os.remove(f)
      assert.are.equal(1, r, json.encode(b) .. " passed: " .. o)
      assert.truthy(o:find("invalid\n$"), o)
    end
  end)
end)

-- one job list through the CLI, with every way a job ends that a host
-- without cgroup controllers can produce
local HOSTILE_SH = [==[printf 'a\377\001\033[31m]]>b<&"\r\n' >&2; printf 'o\376]]>\n']==]

local LIST = ([==[
  local bb = %q
  local function j(name, cmd, x)
    local r = { name = name, rootfs = bb, command = { "/bin/sh", "-c", cmd },
                stdio = { stdout = "capture", stderr = "capture" } }
    for k, v in pairs(x or {}) do r[k] = v end
    return r
  end
  return { parallel = 8, jobs = {
    j("pass", "echo ok"),
    j("fail", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do echo err$i >&2; done; exit 3"),
    j("sig", "kill -SEGV $$"),
    j("slow", "sleep 5", { limits = { wall = "300ms" } }),
    { name = "missing", rootfs = bb, command = { "/bin/nonexistent" }, stdio = { stderr = "capture" } },
    { rootfs = bb, command = { "/bin/true" } },
    j("bytes\27<&\"\255", %q),
  } }
]==]):format(H.busybox, HOSTILE_SH)

local cli
local function run_cli()
  if cli then return cli end
  local dir = H.tmpdir()
  local before = os.date("!%Y-%m-%dT%H:%M:%S")
  local out, rc = H.host(LIST, "", ("--json %s/r.json --junit %s/r.xml"):format(dir, dir))
  cli = { dir = dir, out = out, rc = rc, json = dir .. "/r.json", xml = dir .. "/r.xml",
          before = before, after = os.date("!%Y-%m-%dT%H:%M:%S") }
  return cli
end

describe("reports of real jails through the CLI", function()
  teardown(function() if cli then os.execute("rm -rf " .. cli.dir) end end)

  it("prints the summary with one totals line and exits 1", function()
    local c = run_cli()
    assert.are.equal(1, c.rc, c.out)
    assert.truthy(c.out:find("\nfail%s+exited%s+3 "), c.out)
    assert.truthy(c.out:find("\njob 6%s+exited%s+0 "), c.out)
    assert.truthy(c.out:find("\nbytes\\x1b<&\"\\xff%s+exited%s+0 "), c.out)
    assert.truthy(c.out:find("\n7 jobs: 3 passed, 3 failed, 1 error, 0 skipped in %d+%.%d%ds\n"), c.out)
    assert.is_nil(c.out:find("\27", 1, true))
  end)

  it("writes JUnit that xmllint validates against doc/junit.xsd", function()
    local c = run_cli()
    local out, rc = xmllint(c.xml)
    assert.are.equal(0, rc, out .. read(c.xml))
  end)

  it("writes JUnit that junitparser reads: counts, the failures' messages and output, the run's time", function()
    local c = run_cli()
    local host = read("/proc/sys/kernel/hostname"):gsub("\n$", "")
    local out, rc = py([==[
import sys, junitparser
xml, before, after, host = sys.argv[1:]
s = junitparser.JUnitXml.fromfile(xml)
assert (s.tests, s.failures, s.errors, s.skipped) == (7, 3, 1, 0), vars(s)
assert before <= s.timestamp <= after, (before, s.timestamp, after)
assert s.hostname == host, s.hostname
cases = {c.name: c for c in s}
assert list(cases) == ["pass", "fail", "sig", "slow", "missing", "job 6", "bytes\\x1b<&\"\\xff"], list(cases)
# the suite's time is the run's: at least its longest job's, and the slow one's wall limit
assert s.time >= max(c.time for c in s) and s.time >= 0.3, (s.time, [c.time for c in s])
f = cases["fail"].result[0]
assert isinstance(f, junitparser.Failure) and f.message == "status exited, exit 3" and f.type == "exited"
assert f.text == "".join("err%d\n" % i for i in range(3, 23)), repr(f.text)   # the last 20 lines
assert cases["fail"].system_err.startswith("err1\n")
assert cases["sig"].result[0].message == "status signaled, SIGSEGV"
assert cases["slow"].result[0].message == "status timeout (wall)"
assert cases["slow"].result[0].type == "timeout"
e = cases["missing"].result[0]
assert isinstance(e, junitparser.Error) and "/bin/nonexistent" in e.message and e.type == "setup_error"
assert cases["pass"].is_passed and cases["pass"].system_out == "ok\n"
b = cases["bytes\\x1b<&\"\\xff"]
assert b.is_passed
assert b.system_err == "a\\xff\\x01\\x1b[31m]]>b<&\"\r\n", repr(b.system_err)
assert b.system_out == "o\\xfe]]>\n", repr(b.system_out)
print("ok")
]==], c.xml, c.before, c.after, host)
    assert.are.equal(0, rc, out .. read(c.xml))
  end)

  it("writes JSON that python3-jsonschema validates against doc/result.schema.json", function()
    local c = run_cli()
    local out, rc = schema_check(c.json)
    assert.are.equal(0, rc, out .. read(c.json))
  end)

  it("writes JSON whose fields jq reads: no stdout key for a stream not captured, the bytes as \\u00XX", function()
    local c = run_cli()
    for _, e in ipairs({
      'length == 7',
      '.[1] | .name == "fail" and .status == "exited" and .exit_code == 3',
      '.[2] | .status == "signaled" and .signal == "SIGSEGV" and .signal_number == 11 and .exit_code == 139',
      '.[3] | .status == "timeout" and .timeout == "wall" and .wall_s >= 0.3',
      '.[4] | .status == "setup_error" and .step == "exec" and .errno == "ENOENT" and .exit_code == 127',
      '.[4] | has("stderr") and (has("stdout") | not)',
      '.[5] | .name == "job 6" and (has("stdout") | not) and (has("stderr") | not)', -- the table's and JUnit's name too
      '.[0] | .stdout == "ok\\n" and .stderr == ""',
      '.[6] | .name == "bytes\\u001b<&\\"\\u00ff" and .stderr == "a\\u00ff\\u0001\\u001b[31m]]>b<&\\"\\r\\n"',
      '.[6].stdout == "o\\u00fe]]>\\n"',
      'all(.[]; .wall_s > 0)',
    }) do
      local out, rc = jq(e, c.json)
      assert.are.equal(0, rc, e .. ": " .. out)
    end
  end)

  it("writes every number of the JSON as the shortest decimal that reads back", function()
    local c = run_cli()
    local s = read(c.json)
    local n = 0
    for tok in s:gmatch('":%s*(%-?[%d.eE+-]+)') do
      n = n + 1
      local x = tonumber(tok)
      if math.type(x) == "float" then assert.are.equal(shortest(x), tok) end
    end
    assert.truthy(n > 20, s)
  end)

  it("writes one recipe's result, valid against the schema, with stdout only when captured", function()
    local dir = H.tmpdir()
    finally(function() os.execute("rm -rf " .. dir) end)
    local out, rc = H.host(([[return { rootfs = %q, command = { "/bin/sh", "-c", "echo e >&2; exit 4" },
                                       stdio = { stderr = "capture", stdout = "null" } }]]):format(H.busybox),
                           "", ("--json %s/one.json"):format(dir))
    assert.are.equal(4, rc, out)
    local o, r = schema_check(dir .. "/one.json")
    assert.are.equal(0, r, o)
    local o2, r2 = jq('type == "object" and .exit_code == 4 and .stderr == "e\\n" and (has("stdout") | not)',
                      dir .. "/one.json")
    assert.are.equal(0, r2, o2 .. read(dir .. "/one.json"))
  end)
end)

describe("report.failures of real jails", function()
  it("shows the failed, timed out and unstartable jobs with their last lines", function()
    local rs = H.sb.run_all({
      H.bb("echo fine", { name = "ok" }),
      H.bb("echo a >&2; printf 'b\\033[2J\\n' >&2; exit 3", { name = "build" }),
      H.bb("sleep 5", { name = "hang", limits = { wall = "300ms" } }),
      { name = "gone", rootfs = H.busybox, command = { "/bin/nonexistent" } },
    }, { parallel = 4 })
    local s = report.failures(rs)
    assert.are.equal("build: exited 3\n    a\n    b\\x1b[2J\nhang: timeout (wall)\n"
                     .. "gone: setup_error: exec /bin/nonexistent: No such file or directory\n", s)
    assert.truthy(report.summary(rs):find("\n4 jobs: 1 passed, 2 failed, 1 error, 0 skipped\n$"))
  end)
end)
