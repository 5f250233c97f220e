-- The examples run as documented (from the repository root).
local H = require "spec.support.helper"

local function ex(name, args)
  return H.sh(("cd %s && %s %s examples/%s"):format(H.root, H.bin, args or "", name))
end

describe("examples", function()
  it("hello: host root read-only, tmpfs /tmp, own hostname and pids", function()
    local out, rc = ex("hello.lua -- from-spec")
    assert.are.equal(0, rc)
    assert.truthy(out:find("hello from hello-jail, pid 2: from-spec", 1, true), out)
    assert.truthy(out:find("Read-only file system", 1, true), out)
    assert.truthy(out:find("wrote /tmp/note", 1, true), out)
  end)

  it("busybox-shell runs one command in the busybox rootfs", function()
    local out, rc = ex("busybox-shell.lua -- 'hostname; echo $HOME; exit 4'")
    assert.are.equal(4, rc)
    assert.are.equal("busybox\n/root\n", out)
  end)

  it("project-readonly: the project is read-only, the scratch dir is not", function()
    local out, rc = ex("project-readonly.lua")
    assert.are.equal(0, rc)
    assert.truthy(out:find("/src refuses writes", 1, true), out)
    assert.truthy(out:find("copied to /scratch", 1, true), out)
  end)

  it("ci-matrix: a summary, every job's status, exit 1 since jobs fail", function()
    local tmp = os.tmpname()
    local out, rc = ex("ci-matrix.lua", "--json " .. tmp)
    assert.are.equal(1, rc)
    assert.truthy(out:find("\nunit%-tests%s+exited%s+0"), out)
    assert.truthy(out:find("\nlint%s+exited%s+1"), out)
    assert.truthy(out:find("\nsleeper%s+timeout%(wall%)"), out)
    assert.truthy(out:find("\nfork%-bomb%s+%a+"), out)
    local js = io.open(tmp):read("a")
    assert.truthy(js:find('"name": "memory-hog"', 1, true))
    os.remove(tmp)
  end)
end)
