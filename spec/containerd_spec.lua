-- containerd with sandboxlua as the runc binary of its runc shim
-- (io.containerd.runc.v2, as a Kubernetes RuntimeClass would use it; issue
-- 12): a daemon of the spec's own, `ctr run --runc-binary`.  The shim
-- calls the runtime with --root, --log and --log-format json, and asks
-- `ps --format json`; what ctr reports is checked against the kernel.
--
-- busted --tags=containerd spec/containerd_spec.lua
local H = require "spec.support.helper"
local CD = require "spec.support.containerd"
local PM = require "spec.support.podman"
local read, exists, trim = PM.read, H.exists, H.trim
local function gone(pid) return not H.alive(pid) end
local function wait_for(fn, secs) return H.wait_for(fn, secs or 10) end

local cd
local function containerd()
  if not cd then cd = assert(CD.start()) end
  return cd
end

describe("containerd with sandboxlua as its runc #containerd", function()
  teardown(function()
    if cd then cd:stop() end
  end)

  it("ctr run --rm prints the container's output and passes its exit status", function()
    local c = containerd()
    local out, rc = c:ctr(("run --rm %s %s r1 sh -c 'echo hi; exit 7'"):format(c:flags(), c.image))
    assert.are.equal(7, rc, out)
    assert.are.equal("hi\n", out)
    out, rc = c:ctr(("run --rm %s %s r2 echo ok"):format(c:flags(), c.image))
    assert.are.equal(0, rc, out)
    assert.are.equal("ok\n", out)
    assert.are.equal("", c:ctr("containers ls -q"))
    assert.is_false(exists(c:cgroup_of("r1")))
    assert.are.equal("", H.sh("ls -A /run/containerd/runc/" .. c.ns .. " 2>/dev/null"))
  end)

  it("ctr run -d: the task's pid is sandboxlua's init in its cgroup; task ps lists the cgroup's pids; kill ends it", function()
    local c = containerd()
    local out, rc = c:ctr(("run -d %s %s d1 sleep 100"):format(c:flags(), c.image))
    assert.are.equal(0, rc, out)
    local ls = c:ctr("task ls")
    local pid = ls:match("\nd1%s+(%d+)%s+RUNNING")
    assert.truthy(pid, ls)
    local status = assert(read("/proc/" .. pid .. "/status"))
    assert.truthy(status:match("NSpid:%s+" .. pid .. "%s+1\n"), status)
    assert.truthy(trim(H.sh("readlink /proc/" .. pid .. "/exe")):match("^/memfd:"))
    local cg = c:cgroup_of("d1")
    assert.truthy((read("/proc/" .. pid .. "/cgroup") or ""):find("0::/" .. c.ns .. "/d1\n", 1, true))
    -- start returns when init has its byte, before it forks the command
    local procs
    assert.is_true(wait_for(function()
      procs = {}
      for q in (read(cg .. "/cgroup.procs") or ""):gmatch("%d+") do procs[#procs + 1] = q end
      return #procs >= 2
    end))
    table.sort(procs)
    -- ctr task ps: the shim's `ps --format json`
    local listed = {}
    for q in c:ctr("task ps d1"):gmatch("\n(%d+)") do listed[#listed + 1] = q end
    table.sort(listed)
    assert.are.same(procs, listed)
    assert.are.equal(2, #procs)
    out, rc = c:ctr("task kill -s KILL d1")
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return c:ctr("task ls"):match("\nd1%s+%d+%s+STOPPED") ~= nil end))
    assert.is_true(gone(pid))
    out, rc = c:ctr("task rm d1")
    assert.are.equal(0, rc, out)
    out, rc = c:ctr("containers rm d1")
    assert.are.equal(0, rc, out)
    assert.is_false(exists(cg))
    assert.is_false(exists("/run/containerd/runc/" .. c.ns .. "/d1"))
  end)

  it("a site policy (a wrapper as the runc binary) refuses --privileged; its message reaches ctr through log.json", function()
    local c = containerd()
    local pol = c.dir .. "/policy.lua"
    H.write(pol, table.concat({
      "return function(config, recipe, refusal)",
      "  for _, cap in ipairs(config.process.capabilities.bounding or {}) do",
      "    if cap == 'CAP_SYS_ADMIN' then return nil, 'site policy (spec): no privileged containers here' end",
      "  end",
      "  return recipe, refusal",
      "end", "" }, "\n"))
    local rt = PM.wrapper(c.dir .. "/sandboxlua-policy", "--policy " .. pol)
    local flags = c:flags():gsub("%-%-runc%-binary %S+", "--runc-binary " .. rt)
    local out, rc = c:ctr(("run --rm --privileged %s %s p1 echo hi"):format(flags, c.image))
    assert.are_not.equal(0, rc, out)
    assert.truthy(out:find("OCI runtime create failed: site policy (spec): no privileged containers here", 1, true), out)
    assert.is_false(exists(c:cgroup_of("p1")))
    assert.are.equal("", H.sh("ls -A /run/containerd/runc/" .. c.ns .. " 2>/dev/null"))
    c:ctr("containers rm p1")
    -- the same runtime runs an ordinary container
    out, rc = c:ctr(("run --rm %s %s p2 echo hi"):format(flags, c.image))
    assert.are.equal(0, rc, out)
    assert.are.equal("hi\n", out)
  end)

  it("ctr task exec runs in the task's namespaces, with its exit status", function()
    local cd = containerd()
    local out, rc = cd:ctr(("run -d %s %s e1 sleep 100"):format(cd:flags(), cd.image))
    assert.are.equal(0, rc, out)
    local pid = cd:ctr("task ls"):match("\ne1%s+(%d+)")
    out, rc = cd:ctr("task exec --exec-id x1 e1 sh -c 'readlink /proc/self/ns/pid; exit 4'")
    assert.are.equal(4, rc, out)
    assert.are.equal(trim(H.sh("readlink /proc/" .. pid .. "/ns/pid")), trim(out))
    cd:ctr("task kill -s KILL e1")
  end)
end)
