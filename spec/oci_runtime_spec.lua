-- The OCI runtime's commands on a busybox bundle, real processes only:
-- create leaves the container's init waiting (its command not run yet),
-- start runs it, state moves created -> running -> stopped, kill and
-- delete end and remove it; everything is checked through the kernel
-- (/proc, the cgroup directory) and the state files.  The conformance
-- part drives runc over the same bundle and compares.
local H = require "spec.support.helper"
local oci = require "cgsandbox.oci"

local S = require "spec.support.oci"

local BUSYBOX = S.BUSYBOX
local have_runc = os.execute("command -v runc >/dev/null 2>&1")
local read, exists, bundle, wait_for, alive, rt, ours, state =
  S.read, S.exists, S.bundle, S.wait_for, S.alive, S.rt, S.ours, S.state

describe("oci runtime", function()
  local dir, root, rroot
  before_each(function()
    root = H.tmpdir()
    rroot = H.tmpdir()
  end)
  after_each(function()
    for _, id in ipairs { "c1", "c2", "r1", "r2", "n1", "race" } do
      ours(root, "/", "delete --force " .. id .. " >/dev/null 2>&1")
      if have_runc then rt("runc", rroot, "/", "delete --force " .. id .. " >/dev/null 2>&1") end
    end
    os.execute("rm -rf " .. root .. " " .. rroot .. (dir and (" " .. dir) or ""))
    dir = nil
  end)

  it("create waits, start runs, state moves created -> running -> stopped, kill 15 ends, delete removes all", function()
    dir = bundle("echo started > /mnt/marker; exec sleep 100")
    local out, rc = ours(root, dir, "create --pid-file " .. dir .. "/pid c1")
    assert.are.equal("", out)
    assert.are.equal(0, rc)
    local st = assert(state(S.RT, root, dir, "c1"))
    assert.are.equal("created", st.status)
    assert.are.equal("c1", st.id)
    assert.are.equal(dir, st.bundle)
    assert.are.equal(BUSYBOX, st.rootfs)
    local pid = st.pid
    assert.are.equal(tostring(pid), read(dir .. "/pid"))
    -- init survived create, waits in its own pid namespace (pid 1 there),
    -- and the command has not run: no child, no marker
    local ok, status = alive(pid)
    assert.is_true(ok)
    assert.matches("NSpid:%s+" .. pid .. "%s+1\n", status)
    assert.are.equal("", read(("/proc/%d/task/%d/children"):format(pid, pid)))
    assert.is_false(exists(dir .. "/out/marker"))
    -- its cgroup, at the exact path, holds init alone
    local saved = assert(oci.decode(read(root .. "/c1/state.json"), "state.json"))
    local cg = saved.cgroup
    assert.is_string(cg)
    assert.are.equal(tostring(pid), (read(cg .. "/cgroup.procs"):gsub("%s+$", "")))
    assert.is_true(exists(root .. "/c1/exec.fifo"))

    out, rc = ours(root, dir, "start c1")
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return exists(dir .. "/out/marker") end))
    assert.are.equal("started\n", read(dir .. "/out/marker"))
    assert.are.equal("running", state(S.RT, root, dir, "c1").status)
    assert.is_false(exists(root .. "/c1/exec.fifo"))
    local procs = {}
    for p in read(cg .. "/cgroup.procs"):gmatch("%d+") do procs[#procs + 1] = tonumber(p) end
    assert.are.equal(2, #procs)
    local cmd = procs[1] == pid and procs[2] or procs[1]
    -- the marker comes before sh's exec of sleep: wait for the exec
    assert.is_true(wait_for(function() return (read("/proc/" .. cmd .. "/status") or ""):match("Name:%s+sleep") end))
    assert.matches("NSpid:%s+" .. cmd .. "%s+2\n", read("/proc/" .. cmd .. "/status"))
    out = ours(root, dir, "ps --format json c1")
    local listed = assert(require("dkjson").decode(out))
    table.sort(listed)
    table.sort(procs)
    assert.are.same(procs, { table.unpack(listed) })
    -- start twice: refused, distinct status
    out, rc = ours(root, dir, "start c1")
    assert.are.equal(4, rc)
    assert.are.equal("sandboxlua oci: cannot start a container that is running\n", out)
    -- delete without --force refuses a running one
    out, rc = ours(root, dir, "delete c1")
    assert.are.equal(4, rc)
    assert.matches("not stopped: running", out)

    out, rc = ours(root, dir, "kill c1 15")
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return not alive(cmd) and not alive(pid) end))
    assert.are.equal("stopped", state(S.RT, root, dir, "c1").status)
    assert.are.equal(0, state(S.RT, root, dir, "c1").pid)
    out, rc = ours(root, dir, "kill c1 15")
    assert.are.equal(4, rc)

    out, rc = ours(root, dir, "delete c1")
    assert.are.equal(0, rc, out)
    assert.is_false(exists(root .. "/c1"))
    assert.is_false(exists(cg))
    assert.is_false(alive(pid))
    assert.is_nil(read("/proc/self/mountinfo"):find(root, 1, true))
    out, rc = ours(root, dir, "state c1")
    assert.are.equal(3, rc)
    assert.are.equal('sandboxlua oci: container "c1" does not exist\n', out)
  end)

  it("run exits with the command's status, a killed one with 137, and leaves nothing", function()
    dir = bundle("exit 7")
    local _, rc = ours(root, dir, "run r1")
    assert.are.equal(7, rc)
    assert.is_false(exists(root .. "/r1"))
    local dir2 = bundle("kill -9 $$")
    _, rc = ours(root, dir2, "run r2")
    assert.are.equal(137, rc)
    os.execute("rm -rf " .. dir2)
  end)

  it("delete of a created container kills its waiting init; pause and resume freeze the cgroup", function()
    dir = bundle("exec sleep 100")
    assert.are.equal(0, select(2, ours(root, dir, "create c1")))
    local pid = state(S.RT, root, dir, "c1").pid
    local cg = oci.decode(read(root .. "/c1/state.json"), "s").cgroup
    local _, rc = ours(root, dir, "delete c1")
    assert.are.equal(0, rc)
    assert.is_false(alive(pid))
    assert.is_false(exists(cg))

    assert.are.equal(0, select(2, ours(root, dir, "run --detach c2")))
    cg = oci.decode(read(root .. "/c2/state.json"), "s").cgroup
    assert.are.equal(0, select(2, ours(root, dir, "pause c2")))
    assert.matches("frozen 1", read(cg .. "/cgroup.events"))
    assert.are.equal("paused", state(S.RT, root, dir, "c2").status)
    assert.are.equal(0, select(2, ours(root, dir, "resume c2")))
    assert.matches("frozen 0", read(cg .. "/cgroup.events"))
    assert.are.equal("running", state(S.RT, root, dir, "c2").status)
    assert.are.equal(0, select(2, ours(root, dir, "delete --force c2")))
    assert.is_false(exists(cg))
  end)

  it("two creates of one ID at once: exactly one wins", function()
    dir = bundle("exec sleep 100")
    local out = H.sh(("cd %s; for i in 1 2; do (%s oci --root %s create race </dev/null >/dev/null 2>&1; echo rc=$?) & done; wait")
      :format(dir, H.bin, root))
    local zero, other = 0, 0
    for code in out:gmatch("rc=(%d+)") do
      if code == "0" then zero = zero + 1 else other = other + 1 end
    end
    assert.are.same({ 1, 1 }, { zero, other })
    assert.are.equal("created", state(S.RT, root, dir, "race").status)
  end)

  it("global flags: --systemd-cgroup refused, --log-format json lines, a bad signal", function()
    local out, rc = ours(root, "/", "--systemd-cgroup state x")
    assert.are.equal(2, rc)
    assert.matches("%-%-systemd%-cgroup is not supported yet", out)
    local log = root .. "/log.json"
    out, rc = H.sh(("%s oci --root %s --log %s --log-format json state nope"):format(H.bin, root, log))
    assert.are.equal(3, rc)
    local line = assert(oci.decode(read(log), "log"))
    assert.are.equal("error", line.level)
    assert.are.equal('container "nope" does not exist', line.msg)
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d", line.time)
    dir = bundle("exec sleep 100")
    assert.are.equal(0, select(2, ours(root, dir, "create c1")))
    out, rc = ours(root, dir, "kill c1 NOSUCH")
    assert.are.equal(2, rc)
  end)

  it("answers by the name sandboxlua-oci with runc's arguments (an engine's --runtime path)", function()
    dir = bundle("exit 3")
    local out, rc = rt(H.build .. "/sandboxlua-oci", root, dir, "state nope")
    assert.are.equal(3, rc)
    assert.are.equal('sandboxlua oci: container "nope" does not exist\n', out)
    out, rc = rt(H.build .. "/sandboxlua-oci", root, dir, "run n1")
    assert.are.equal(3, rc, out)
  end)

  describe("conformance with runc", function()
    if not have_runc then
      pending("runc is not installed")
      return
    end
    local function keys(t)
      local k = {}
      for n in pairs(t) do k[#k + 1] = n end
      table.sort(k)
      return k
    end

    it("the same bundle: state fields and statuses, exit statuses", function()
      dir = bundle("exec sleep 100")
      local res = {}
      for _, r in ipairs { { "runc", rroot }, { S.RT, root } } do
        local bin, rr = r[1], r[2]
        local _, rc = rt(bin, rr, dir, "create c1")
        assert.are.equal(0, rc, bin)
        r.created = state(bin, rr, dir, "c1")
        assert.are.equal(0, select(2, rt(bin, rr, dir, "start c1")))
        r.running = state(bin, rr, dir, "c1")
        assert.are.equal(0, select(2, rt(bin, rr, dir, "kill c1 KILL")))
        assert.is_true(wait_for(function() return state(bin, rr, dir, "c1").status == "stopped" end), bin)
        r.stopped = state(bin, rr, dir, "c1")
        r.delete = select(2, rt(bin, rr, dir, "delete c1"))
        r.gone = select(2, state(bin, rr, dir, "c1"))
        r.start_nope = select(2, rt(bin, rr, dir, "start nope"))
        res[#res + 1] = r
      end
      local runc, sbx = res[1], res[2]
      for _, phase in ipairs { "created", "running", "stopped" } do
        assert.are.same(keys(runc[phase]), keys(sbx[phase]), phase)
        assert.are.equal(phase, runc[phase].status)
        assert.are.equal(phase, sbx[phase].status)
        for _, k in ipairs { "id", "bundle", "rootfs", "owner" } do
          assert.are.equal(runc[phase][k], sbx[phase][k], phase .. "." .. k)
        end
        assert.are.equal(runc[phase].pid == 0, sbx[phase].pid == 0, phase .. ".pid")
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.?%d*Z$", sbx[phase].created)
      end
      assert.are.equal(0, runc.stopped.pid)
      assert.are.equal(0, runc.delete)
      assert.are.equal(0, sbx.delete)
      -- failures fail with both (the status: runc says 1 for all, ours
      -- tells them apart)
      assert.are_not.equal(0, runc.gone)
      assert.are.equal(3, sbx.gone)
      assert.are_not.equal(0, runc.start_nope)
      assert.are.equal(3, sbx.start_nope)
    end)

    it("run: the same exit statuses as runc's (7, and 137 when killed by SIGKILL from outside)", function()
      for _, r in ipairs { { "runc", rroot }, { S.RT, root } } do
        local d = bundle("exit 7")
        local _, rc = rt(r[1], r[2], d, "run r1")
        assert.are.equal(7, rc, r[1])
        os.execute("rm -rf " .. d)
        d = bundle("exec sleep 100")
        local f = d .. "/rc"
        os.execute(("(cd %s && %s --root %s run r1 </dev/null >/dev/null 2>&1; echo $? > %s) &")
          :format(d, r[1], r[2], f))
        assert.is_true(wait_for(function()
          local st = state(r[1], r[2], d, "r1")
          return st and st.status == "running"
        end), r[1])
        assert.are.equal(0, select(2, rt(r[1], r[2], d, "kill r1 KILL")))
        assert.is_true(wait_for(function() return read(f) ~= nil and read(f) ~= "" end), r[1])
        assert.are.equal("137\n", read(f), r[1])
        os.execute("rm -rf " .. d)
      end
    end)
  end)
end)
