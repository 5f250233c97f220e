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
    -- its limits are optional: where their controllers are missing it says so
    local f = io.open(H.core.cgroup_mountpoint() .. "/cgroup.controllers")
    local avail = f:read("a")
    f:close()
    local missing = {}
    for _, c in ipairs { "memory", "pids" } do
      if not avail:find("%f[%w]" .. c .. "%f[%W]") then missing[#missing + 1] = c end
    end
    if #missing > 0 then
      assert.truthy(out:find(("sandboxlua: warning: limits not applied: controller%s %s not available here (optional)\n")
        :format(#missing > 1 and "s" or "", table.concat(missing, ", ")), 1, true), out)
    else
      assert.is_nil(out:find("limits not applied", 1, true), out)
    end
  end)

  it("busybox-shell runs one command in the busybox rootfs", function()
    local out, rc = ex("busybox-shell.lua -- 'hostname; echo $HOME; exit 4'")
    assert.are.equal(4, rc)
    -- its optional limits: applied, or a warning says they were not
    local rest = out:match("^busybox\n/root\n(.*)$")
    assert.truthy(rest == "" or (rest and rest:find("^sandboxlua: warning: limits not applied: ")), out)
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

describe("the README's mounts example", function()
  it("runs as shown over the host root, and the host's /etc is as before", function()
    local readme = io.open(H.root .. "/README.md"):read("a")
    local src = readme:match("<!%-%- mounts%-example %-%->\n```lua\n(.-)```")
    assert.truthy(src, "no mounts example in the README")
    local f = H.recipe_file(src)
    local motd = io.open("/etc/motd") and io.open("/etc/motd"):read("a")
    local out, rc = H.sh(("%s %s 2>&1"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^hello\n/usr/bin/python3\ndrwxr%-xr%-x "), out)
    assert.are.equal(motd, io.open("/etc/motd") and io.open("/etc/motd"):read("a"))
  end)
end)

describe("mount setup never writes into a host directory", function()
  -- a private copy of the busybox rootfs, writable (root_readonly = false)
  local dir, listing
  local function snapshot()
    return H.sh(("cd %s && find . -printf '%%p %%y %%s %%m %%T@\\n' | sort"):format(dir))
  end
  setup(function()
    dir = H.sh("mktemp -d /var/tmp/sbx-rootfs.XXXXXX"):gsub("%s+$", "")
    H.sh(("cp -a %s/. %s/"):format(H.busybox, dir))
    listing = snapshot()
  end)
  teardown(function() H.sh("rm -rf " .. dir) end)

  for _, c in ipairs {
    { "dir", { "dir", "/opt/new" }, "/opt/new", "/" },
    { "file", { "file", "/etc/new.conf", "x\n" }, "/etc/new.conf", "/etc" },
    { "file over an existing file", { "file", "/etc/passwd", "root::0:0::/:/bin/sh\n" }, "/etc/passwd", "/etc/passwd" },
    { "symlink", { "symlink", "/bin/sh", "/bin/newsh" }, "/bin/newsh", "/bin" },
    { "bind target", { "bind", "/etc", "/srv/new/etc" }, "/srv/new/etc", "/" },
    { "tmpfs target", { "tmpfs", "/newscratch" }, "/newscratch", "/" },
  } do
    local what, m, target, host = table.unpack(c)
    it(what .. ": an error naming the target and the host directory, the rootfs unchanged", function()
      local r = H.sb.run({ rootfs = dir, root_readonly = false, command = { "/bin/true" },
                           mounts = { m }, stdio = { stdout = "capture", stderr = "capture" } })
      assert.are.equal("setup_error", r.status)
      assert.are.equal("EROFS", r.errno)
      assert.truthy(r.message:find((" -> %s: %s is a host directory"):format(target, host), 1, true), r.message)
      assert.truthy(r.message:find("mount a tmpfs or an overlay on " .. host .. " first", 1, true), r.message)
      assert.are.equal(listing, snapshot())
    end)
  end

  it("the same targets work below a tmpfs of the recipe", function()
    local r = H.sb.run({ rootfs = dir, root_readonly = false, stdio = { stdout = "capture" },
      command = { "/bin/sh", "-c", "cat /mnt/x/f; readlink /mnt/x/l; test -d /mnt/x/d && echo dir" },
      mounts = { { "tmpfs", "/mnt" }, { "file", "/mnt/x/f", "data\n" }, { "symlink", "/bin/sh", "/mnt/x/l" },
                 { "dir", "/mnt/x/d" } } })
    assert.are.equal("exited", r.status, r.message)
    assert.are.equal("data\n/bin/sh\ndir\n", r.stdout)
    assert.are.equal(listing, snapshot())
  end)
end)

describe("an overlay", function()
  it("with noexec = true refuses to exec what it holds (exit 126 in the shell)", function()
    local function run(noexec)
      return H.sb.run({ rootfs = H.busybox, stdio = { stdout = "capture" },
        mounts = { { "overlay", H.root .. "/build/rootfs/busybox/bin", "/mnt", noexec = noexec } },
        command = { "/bin/sh", "-c", "/mnt/busybox true; echo $?" } })
    end
    assert.are.equal("0\n", run(false).stdout)
    assert.are.equal("126\n", run(true).stdout)
  end)
end)
