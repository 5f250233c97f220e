-- What a new user expects of the command line (issue 10): `sandboxlua run`
-- with options that build a recipe, a recipe on stdin, a recipe that
-- returns nothing, output paths checked first, --check's checks, --json -
-- as the report alone, signals passed on with a grace period.
local H = require "spec.support.helper"

local function sh(cmd) return H.sh(cmd .. " 2>&1") end
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

describe("sandboxlua run", function()
  it("builds the recipe from options; --print-recipe shows it and a file of it runs the same", function()
    local opts = ("--rootfs %s --hostname box --tmpfs /tmp:4M --env A=1 --cwd /tmp --user 1000:1001 "
      .. "--ro-bind %s/spec:/mnt --pids 32 --wall 10s"):format(H.busybox, H.root)
    local cmd = "sh -c 'echo $A $(hostname) $(pwd) $(id -u):$(id -g); ls /mnt/cli_run_spec.lua; touch /mnt/x 2>&1 | grep -c Read-only'"
    local out, rc = sh(("%s run %s -- %s"):format(H.bin, opts, cmd))
    local expect = "1 box /tmp 1000:1001\n/mnt/cli_run_spec.lua\n1\n"
    -- pids needs the controller: where it is bound to v1 the run says so
    if rc == 125 then
      assert.truthy(out:find("controller pids is ", 1, true), out)
      out, rc = sh(("%s run %s -- %s"):format(H.bin, opts:gsub(" %-%-pids 32", ""), cmd))
    end
    assert.are.equal(0, rc, out)
    assert.are.equal(expect, out)
    local src = sh(("%s run %s --print-recipe -- %s"):format(H.bin, opts, cmd))
    assert.truthy(src:find("^return {\n"), src)
    assert.truthy(src:find('limits = { pids = 32, wall = "10s" }', 1, true), src)
    assert.truthy(src:find('{ "bind", "' .. H.root .. '/spec", "/mnt", ro = true }', 1, true), src)
    local chunk = assert(load(src))
    local r = chunk()
    assert.are.equal(1000, r.user.uid)
    assert.are.same({ "sh", "-c", cmd:match("^sh %-c '(.*)'$") }, r.command)
  end)

  it("gives a bad option value the recipe's own error and exit status", function()
    local out, rc = sh(("%s run --rootfs %s --pids 0 -- true"):format(H.bin, H.busybox))
    assert.are.equal(2, rc)
    assert.are.equal('sandboxlua: recipe.limits.pids: expected an integer >= 2 or "max", got 0: the jail\'s init counts: '
      .. 'pids = 2 is init and the command (which cannot fork)\n', out)
    local out2, rc2 = H.host(("return { rootfs = %q, command = { 'true' }, limits = { pids = 0 } }"):format(H.busybox))
    assert.are.equal(rc, rc2)
    assert.are.equal(out, out2)
    out, rc = sh(("%s run --net wifi -- true"):format(H.bin))
    assert.are.equal(2, rc)
    assert.truthy(out:find('^sandboxlua: recipe.network: expected "none" %(loopback only%) or "host", got "wifi"\n'), out)
    out, rc = sh(("%s run --no-such-option -- true"):format(H.bin))
    assert.are.equal(2, rc)
    assert.truthy(out:find("unknown option '--no-such-option'", 1, true), out)
    out, rc = sh(("%s run --bind :/x -- true"):format(H.bin))
    assert.are.equal(2, rc)
    assert.are.equal("sandboxlua: --bind :/x: expected SRC:DST\n", out)
  end)
end)

describe("recipes", function()
  it("come from stdin with -", function()
    local out, rc = sh(("echo %s | %s - -- a b"):format(
      q(('local x, y = ...; return { rootfs = %q, command = { "echo", "stdin", x, y } }'):format(H.busybox)), H.bin))
    assert.are.equal(0, rc, out)
    assert.are.equal("stdin a b\n", out)
  end)

  it("that return nothing are an error; true and a number are exit statuses", function()
    local out, rc = H.host("local x = 1")
    assert.are.equal(2, rc)
    assert.truthy(out:find("returned nothing: return a recipe table or a list of recipes", 1, true), out)
    local _, rc2 = H.host("return true")
    assert.are.equal(0, rc2)
    local _, rc3 = H.host("return 7")
    assert.are.equal(7, rc3)
  end)

  it("find their own directory as sb.recipe_dir", function()
    local dir = H.sh("mktemp -d"):gsub("%s+$", "")
    local f = io.open(dir .. "/r.lua", "w")
    local rootfs = H.sh("readlink -f " .. H.busybox):gsub("%s+$", "")
    f:write(('local sb = require "cgsandbox"\nreturn { rootfs = %q, command = { "echo", sb.recipe_dir } }'):format(rootfs))
    f:close()
    local bin = H.sh("readlink -f " .. H.bin):gsub("%s+$", "")
    local out, rc = sh(("cd / && %s %s/r.lua"):format(bin, dir))
    H.sh("rm -rf " .. dir)
    assert.are.equal(0, rc, out)
    assert.are.equal(dir .. "\n", out)
  end)
end)

describe("outputs", function()
  it("are checked before anything runs", function()
    local marker = ("/tmp/sbx-ran-%d"):format(H.core.getpid())
    for _, opt in ipairs { "--json", "--junit" } do
      local out, rc = sh(("%s run %s /no/such/dir/out -- /bin/sh -c 'touch %s'"):format(H.bin, opt, marker))
      assert.are.equal(2, rc, out)
      assert.are.equal(("sandboxlua: %s: /no/such/dir/out: No such file or directory\n"):format(opt), out)
      assert.is_nil(io.open(marker))
    end
  end)

  it("--json - is the report alone: the jail's stdout goes into it", function()
    local out, rc = H.sh(("%s run --rootfs %s --json - -- echo from-jail | jq -r '.status, .stdout'"):format(H.bin, H.busybox))
    assert.are.equal(0, rc, out)
    assert.are.equal("exited\nfrom-jail\n\n", out)
  end)
end)

describe("a job the supervisor ended", function()
  it("is named in one line: the limit that was reached", function()
    local out, rc = sh(("%s run --rootfs %s --wall 300ms -- sleep 5"):format(H.bin, H.busybox))
    assert.are.equal(124, rc)
    assert.are.equal("sandboxlua: job killed: wall limit 0.3s reached\n", out)
  end)
end)

describe("--tty", function()
  it("with stdin already at EOF ends: the command reads EOF from the console", function()
    local out, rc = H.sh(("timeout 20 %s run --rootfs %s --tty -- sh -c 'cat; echo after-eof' </dev/null 2>&1")
      :format(H.bin, H.busybox))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("after%-eof"), out)
  end)
end)

describe("--check", function()
  it("names what would fail without spawning: a missing bind source, a command not in the rootfs", function()
    local before = H.leaves()
    local out, rc = sh(("%s run --check --rootfs %s --bind /no/such/src:/mnt -- nosuchcmd"):format(H.bin, H.busybox))
    assert.are.equal(125, rc, out)
    assert.truthy(out:find("\n  problem      mount bind -> /mnt: /no/such/src does not exist\n", 1, true), out)
    out, rc = sh(("%s run --check --rootfs %s -- nosuchcmd"):format(H.bin, H.busybox))
    assert.are.equal(125, rc, out)
    assert.truthy(out:find("\n  problem      command nosuchcmd: not found in the rootfs " .. H.busybox .. "\n", 1, true), out)
    assert.truthy(out:find("\n1 problem\n$"), out)
    out, rc = sh(("%s run --check --rootfs %s -- sh -c true"):format(H.bin, H.busybox))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("\nok\n$"), out)
    assert.are.equal(before, H.leaves())
  end)
end)

describe("signals to the host", function()
  local function start(extra, script)
    local js = os.tmpname()
    local pid = H.sh(("%s run --rootfs %s --json %s %s -- sh -c %s >/dev/null 2>&1 & echo $!")
      :format(H.bin, H.busybox, js, extra, q(script))):match("%d+")
    return pid, js
  end
  local function wait_gone(pid)
    for _ = 1, 300 do
      local st = H.sh("ps -p " .. pid .. " -o stat= || true")
      if not st:match("%u") or st:match("^Z") then return end
      H.sh("sleep 0.02")
    end
    error("host " .. pid .. " did not end")
  end
  local function wait_for(path)
    for _ = 1, 300 do
      local f = io.open(path)
      if f then f:close() return end
      H.sh("sleep 0.02")
    end
    error("no " .. path)
  end

  -- start the host on script, send it sig once the script runs, wait
  -- for it to end; returns the result as jq prints fields, and the
  -- schema validator's verdict on it
  local function interrupt(extra, script, sig, fields)
    local ready = ("/tmp/sbx-sig-%d"):format(H.core.getpid())
    os.remove(ready)
    local pid, js = start("--bind /tmp:/tmp " .. extra, script:format(ready))
    wait_for(ready)
    H.sh(("kill -%s %s"):format(sig, pid))
    wait_gone(pid)
    os.remove(ready)
    local out = H.sh(("jq -r '%s' %s"):format(fields, js))
    local valid, vrc = H.sh(("python3 -c 'import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), "
      .. "json.load(open(sys.argv[1])))' %s/doc/result.schema.json %s"):format(H.root, js))
    os.remove(js)
    return out, vrc, valid
  end

  it("pass SIGTERM on to the command; the result says interrupted, the host exits 143", function()
    local out, vrc, valid = interrupt("", "trap 'echo got-term; exit 7' TERM; touch %s; while :; do sleep 0.05; done",
                                      "TERM", ".status, .exit_code, .interrupted_by")
    assert.are.equal("interrupted\n7\nSIGTERM\n", out)
    assert.are.equal(0, vrc, valid)
  end)

  it("kill a command that ignores them after --kill-grace", function()
    local out, vrc, valid = interrupt("--kill-grace 300ms", "trap '' TERM INT; touch %s; while :; do sleep 0.05; done",
                                      "INT", ".status, .signal, .interrupted_by")
    assert.are.equal("interrupted\nSIGKILL\nSIGINT\n", out)
    assert.are.equal(0, vrc, valid)
  end)

  it("end a job list: the running job interrupted, the others skipped (JUnit <skipped/>), exit 143", function()
    local ready = ("/tmp/sbx-sig3-%d"):format(H.core.getpid())
    os.remove(ready)
    local f = H.recipe_file(([[local jobs = {}
      for i = 1, 3 do jobs[i] = { name = "j" .. i, rootfs = %q, mounts = { { "bind", "/tmp", "/tmp" } },
        command = { "sh", "-c", "touch %s; while :; do sleep 0.05; done" } } end
      return { parallel = 1, jobs = jobs }]]):format(H.busybox, ready))
    local js, xml = os.tmpname(), os.tmpname()
    local rcf = os.tmpname()
    os.remove(rcf)
    -- a shell waits for the host and keeps its exit status
    local pidf = os.tmpname()
    H.sh(("sh -c '%s -q --kill-grace 200ms --json %s --junit %s %s & echo $! > %s; wait $!; echo $? > %s' >/dev/null 2>&1 &")
      :format(H.bin, js, xml, f, pidf, rcf))
    wait_for(ready)
    local pid = io.open(pidf):read("a"):match("%d+")
    os.remove(pidf)
    H.sh("kill -TERM " .. pid)
    wait_for(rcf)
    H.sh("sleep 0.05")
    assert.are.equal("143\n", io.open(rcf):read("a"))
    os.remove(rcf)
    os.remove(ready)
    os.remove(f)
    local out = H.sh(("jq -r '.[] | .name + \" \" + .status' %s"):format(js))
    assert.are.equal("j1 interrupted\nj2 skipped\nj3 skipped\n", out)
    local x = io.open(xml):read("a")
    local _, nskip = x:gsub("<skipped", "")
    assert.are.equal(2, nskip, x)
    local v, vrc = H.sh(("xmllint --noout --schema %s/doc/junit.xsd %s"):format(H.root, xml))
    assert.are.equal(0, vrc, v)
    os.remove(js)
    os.remove(xml)
  end)
end)

describe("rootless without a delegated cgroup", function()
  local function as_nobody(args)
    local rootfs = H.sh("readlink -f " .. H.busybox):gsub("%s+$", "")
    local bin = H.sh("readlink -f " .. H.bin):gsub("%s+$", "")
    return H.sh(("cd /tmp && setpriv --reuid=65534 --regid=65534 --clear-groups env -u SANDBOXLUA_CGROUP %s run --rootfs %s %s 2>&1")
      :format(bin, rootfs, args))
  end

  it("runs a jail that asks for no limits, without a leaf, and says so", function()
    local out, rc = as_nobody("--json - -- echo hi")
    assert.are.equal(0, rc, out)
    assert.are.equal("exited\nhi\n\nnull\n", H.sh(("printf '%%s' %s | jq -r '.status, .stdout, .cgroup'"):format(
      "'" .. out:gsub("'", "'\\''") .. "'")))
    assert.truthy(out:find('"no_cgroup": "no delegated cgroup (rootless): ran without one', 1, true), out)
    -- the supervisor's own limits still hold
    out, rc = as_nobody("--wall 300ms -- sleep 5")
    assert.are.equal(124, rc, out)
  end)

  it("refuses one that asks for limits, naming every way out", function()
    local out, rc = as_nobody("--memory 64M -- echo hi")
    assert.are.equal(125, rc, out)
    for _, way in ipairs { "systemd-run --user --scope -p Delegate=yes", "SANDBOXLUA_CGROUP", "cgroup = false" } do
      assert.truthy(out:find(way, 1, true), out)
    end
    assert.is_nil(out:find("\nhi\n", 1, true))
  end)
end)

describe("a job list's failures", function()
  it("are printed with the tail of their stderr, with -q too; the table ends with a totals line", function()
    local f = H.recipe_file(([[return { parallel = 2, jobs = {
      { name = "good", rootfs = %q, command = "true" },
      { name = "bad", rootfs = %q, command = "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line$i >&2; done; exit 3",
        stdio = { stderr = "capture" } } } }]]):format(H.busybox, H.busybox))
    local out, rc = sh(("%s %s"):format(H.bin, f))
    local qout, qrc = sh(("%s -q %s"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(1, rc)
    assert.are.equal(1, qrc)
    assert.truthy(out:find("\n2 jobs: 1 passed, 1 failed, 0 errors, 0 skipped in %d+%.%d+s\n"), out)
    for _, o in ipairs { out, qout } do
      assert.truthy(o:find("bad: exited 3\n    line3\n", 1, true), o) -- the last 10 of 12 lines
      assert.truthy(o:find("    line12\n", 1, true), o)
      assert.is_nil(o:find("line2\n", 1, true), o)
    end
    assert.is_nil(qout:find("job%s+status"), qout) -- -q: no table
  end)
end)
