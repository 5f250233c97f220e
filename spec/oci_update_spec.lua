-- `sandboxlua oci update`: new limits for a live container, read as
-- config.json's linux.resources and written to its cgroup; the kernel's
-- files say what took (in the cgroup-v2 VM), the refusals name the field.
local H = require "spec.support.helper"
local O = require "spec.support.oci"

local function cg_file(root, id, f)
  local st = assert(O.saved(root, id))
  return ((O.read(st.cgroup .. "/" .. f) or ""):gsub("%s+$", ""))
end

describe("oci update", function()
  local root, dir
  before_each(function() root = H.tmpdir() end)
  after_each(function()
    O.ours(root, "/", "delete --force u1 >/dev/null 2>&1")
    os.execute("rm -rf " .. root .. (dir and (" " .. dir) or ""))
    dir = nil
  end)

  local function start(cmd)
    dir = O.bundle(cmd or "exec sleep 100")
    local out, rc = O.ours(root, dir, "run -d u1")
    assert.are.equal(0, rc, out)
  end

  local function update(args, stdin)
    local f = os.tmpname()
    H.write(f, stdin or "")
    local out, rc = H.sh(("%s --root %s update %s u1 <%s"):format(O.RT, root, args, f))
    os.remove(f)
    return out, rc
  end

  it("refuses what it cannot apply, naming the field, and leaves the container running", function()
    start()
    for _, case in ipairs {
      { "--memory 6x", nil, 'update: %-%-memory: invalid value "6x"' },
      { "-r -", '{"memory": {"limit": "64M"}}', 'update: resources%.memory%.limit: expected an integer >= 1, got "64M"' },
      { "-r -", '{"memory": ', "update: resources %(stdin%): line 1" },
      { "-r -", '{"memory": {"kernel": 1048576}}', "resources%.memory%.kernel: kernel memory limits do not exist in cgroup v2" },
      { "-r -", '{"devices": [{"allow": false, "access": "rwm"}]}',
        "resources%.devices: changing a running container's device rules is not supported yet" },
      { "--l3-cache-schema L3:0=f", nil, "Intel RDT" },
    } do
      local out, rc = update(case[1], case[2])
      assert.are.equal(5, rc, out)
      assert.matches(case[3], out)
    end
    local out, rc
    out, rc = O.ours(root, dir, "update --pids-limit 5 nosuch")
    assert.are.equal(3, rc)
    assert.matches('container "nosuch" does not exist', out)
    assert.are.equal("running", O.state(O.RT, root, dir, "u1").status)
    -- stopped: nothing to update
    O.ours(root, dir, "kill u1 KILL")
    assert.is_true(O.wait_for(function() return O.state(O.RT, root, dir, "u1").status == "stopped" end))
    out, rc = update("--pids-limit 5")
    assert.are.equal(4, rc)
    assert.matches("cannot update container u1: it is stopped", out)
  end)

  it("names the controller when the container's parent cannot have it", function()
    start()
    local st = assert(O.saved(root, "u1"))
    local parent = st.cgroup:match("^(.*)/[^/]+$")
    local offered = O.read(parent .. "/cgroup.controllers") or ""
    if offered:find("hugetlb", 1, true) then return end -- nothing to refuse here (the VM: below)
    local out, rc = update("-r -", '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}')
    assert.are.equal(1, rc)
    -- the core's own message for a parent that lacks a controller (as a
    -- spawn or set_limit gives it), after the file being written
    assert.matches("update u1: hugetlb%.2MB%.max: controller hugetlb is not available in " ..
                   parent:gsub("%p", "%%%0") .. ' %(cgroup%.controllers: "[^"]*"%)', out)
  end)

  it("writes memory, pids, cpu and cpuset limits the kernel then holds #cgroup", function()
    assert.is_true(H.cgroup_v2("memory"), "cgroup v2 memory controller")
    -- 8 MiB in a tmpfs: usage the kernel charges to the container
    start("head -c 8388608 /dev/zero > /dev/shm/fill; exec sleep 100")
    assert.is_true(O.wait_for(function() return (tonumber(cg_file(root, "u1", "memory.current")) or 0) >= 8388608 end))
    local out, rc = update("--memory 32m --memory-reservation 8MiB --pids-limit 10")
    assert.are.equal(0, rc, out)
    assert.are.equal("33554432", cg_file(root, "u1", "memory.max"))
    assert.are.equal("8388608", cg_file(root, "u1", "memory.low"))
    assert.are.equal("11", cg_file(root, "u1", "pids.max")) -- the limit and the container's init
    out, rc = update("-r -", '{"cpu": {"quota": 50000, "period": 200000, "cpus": "0"}, "memory": {"limit": -1}}')
    assert.are.equal(0, rc, out)
    assert.are.equal("50000 200000", cg_file(root, "u1", "cpu.max"))
    assert.are.equal("0", cg_file(root, "u1", "cpuset.cpus"))
    assert.are.equal("max", cg_file(root, "u1", "memory.max"))
    -- checkBeforeUpdate: below the current usage is refused, and nothing changes
    out, rc = update("-r -", '{"memory": {"limit": 4194304, "checkBeforeUpdate": true}}')
    assert.are.equal(4, rc, out)
    assert.matches("resources%.memory%.limit: 4194304 is below the current usage %d+", out)
    assert.are.equal("max", cg_file(root, "u1", "memory.max"))
    -- the kernel's own refusal comes back with the file's name
    out, rc = update("--cpuset-cpus 999")
    assert.are.equal(1, rc)
    assert.matches("update u1: cpuset%.cpus: ", out)
  end)
end)
