-- Every failure: one readable line naming the step and errno, a distinct
-- exit status, and nothing left behind (cgroup, mount, process, fd).
local H = require "spec.support.helper"
local sb = H.sb

local function leftovers()
  return { fds = H.fds(), mounts = H.mounts(), leaves = H.leaves(), children = H.children() }
end

local function assert_clean(before)
  local after = leftovers()
  assert.are.equal(before.fds, after.fds, "fd leaked")
  assert.are.equal(before.mounts, after.mounts, "host mount table changed")
  assert.are.equal(0, after.leaves, "cgroup leaf left behind")
  assert.are.equal(before.children, after.children, "process left behind")
end

describe("setup errors", function()
  setup(function()
    -- the supervisor's ring and inotify fds exist from the first jail on
    assert.are.equal(0, H.run("true").exit_code)
  end)

  local cases = {
    { "a missing rootfs", { rootfs = "/nonexistent/rootfs" }, 125, "rootfs",
      "rootfs /nonexistent/rootfs: No such file or directory", "ENOENT" },
    { "a missing bind source", { mounts = { { "bind", "/nonexistent/data", "/mnt" } } }, 125, "mount",
      "mount /nonexistent/data -> /mnt: No such file or directory", "ENOENT" },
    { "a mount target the read-only root lacks", { mounts = { { "tmpfs", "/no/such/dir" } } }, 125, "mount",
      "mount tmpfs -> /no/such/dir: / is a host directory (of the rootfs or a bind), which setup never writes: "
        .. "create /no/such/dir in the rootfs, or mount a tmpfs or an overlay on / first", "EROFS" },
    { "a command not found", { command = { "/bin/no-such-command" } }, 127, "exec",
      "exec /bin/no-such-command: No such file or directory", "ENOENT" },
    { "a command not in PATH", { command = { "no-such-command" } }, 127, "exec",
      "exec no-such-command: command not found in PATH=", "ENOENT" },
    { "a command that is not executable", { command = { "/etc/passwd" } }, 126, "exec",
      "exec /etc/passwd: Permission denied", "EACCES" },
    { "a missing cwd", { cwd = "/no/such/dir" }, 125, "cwd",
      "chdir /no/such/dir: No such file or directory", "ENOENT" },
  }
  for _, c in ipairs(cases) do
    local what, extra, code, step, msg, errno = table.unpack(c)
    it("reports " .. what .. " and leaves nothing behind", function()
      local before = leftovers()
      local r = H.run("true", extra)
      assert.are.equal("setup_error", r.status)
      assert.are.equal(code, r.exit_code)
      assert.are.equal(step, r.step)
      assert.are.equal(errno, r.errno)
      assert.truthy(r.message:find(msg, 1, true), r.message)
      assert_clean(before)
    end)
  end

  it("spawn returns nil, message, errno name and the result", function()
    local h, msg, errno, res = sb.spawn(H.bb("true", { rootfs = "/nonexistent" }))
    assert.is_nil(h)
    assert.are.equal("rootfs /nonexistent: No such file or directory", msg)
    assert.are.equal("ENOENT", errno)
    assert.are.equal("setup_error", res.status)
  end)

  it("leaves nothing after a successful run either", function()
    local before = leftovers()
    for _ = 1, 5 do
      local r = H.run("echo ok", { mounts = { { "tmpfs", "/tmp" }, { "bind", H.root .. "/spec", "/src", ro = true } } })
      assert.are.equal("ok\n", r.stdout)
    end
    assert_clean(before)
  end)

  it("leaves nothing after a jail killed from outside", function()
    local before = leftovers()
    local h = assert(sb.spawn(H.bb("sleep 60 & sleep 60")))
    finally(function() h:close() end)
    local cg = h:cgroup()
    assert(h:kill("KILL"))
    local r = h:wait()
    assert.are.equal("signaled", r.status)
    assert.are.equal("SIGKILL", r.signal)
    assert.is_nil(io.open(cg .. "/cgroup.procs"))
    assert_clean(before)
  end)
end)

describe("the host's exit statuses", function()
  local function host(recipe, opts)
    return H.host("return " .. recipe, "", opts)
  end

  it("is the command's own code", function()
    local _, rc = host([[{ command = { "/bin/sh", "-c", "exit 42" } }]])
    assert.are.equal(42, rc)
  end)

  it("is 128+N for a signal", function()
    local _, rc = host([[{ command = { "/bin/sh", "-c", "kill -TERM $$" } }]])
    assert.are.equal(143, rc)
  end)

  it("is 127 for a command not found, with one clear line", function()
    local out, rc = host([[{ command = { "/bin/nope" } }]])
    assert.are.equal(127, rc)
    assert.are.equal("sandboxlua: exec /bin/nope: No such file or directory\n", out)
  end)

  it("is 126 for a command that cannot be executed", function()
    local out, rc = host([[{ command = { "/etc/passwd" } }]])
    assert.are.equal(126, rc)
    assert.are.equal("sandboxlua: exec /etc/passwd: Permission denied\n", out)
  end)

  it("is 125 for other setup failures, naming the step", function()
    local out, rc = host([[{ command = { "/bin/true" }, mounts = { { "bind", "/data-nope", "/mnt" } } }]])
    assert.are.equal(125, rc)
    assert.are.equal("sandboxlua: mount /data-nope -> /mnt: No such file or directory\n", out)
  end)

  it("is 2 for a bad recipe, naming the field", function()
    local out, rc = host([[{ command = { "/bin/true" }, mounts = { { "tmpfs", "/tmp" }, { "tmpfs", "tmp" } } }]])
    assert.are.equal(2, rc)
    assert.are.equal('sandboxlua: recipe.mounts[2].target: expected an absolute path, got "tmp"\n', out)
  end)

  it("is 2 for a recipe that fails to load", function()
    local out, rc = host([[{ command = ]])
    assert.are.equal(2, rc)
    assert.truthy(out:find("^sandboxlua: .*unexpected symbol"))
  end)

  it("is 2 for bad usage", function()
    local out, rc = H.sh(H.bin .. " --frobnicate x.lua")
    assert.are.equal(2, rc)
    assert.are.equal("sandboxlua: unknown option '--frobnicate' (see --help)\n", out)
    local _, rc2 = H.sh(H.bin)
    assert.are.equal(2, rc2)
  end)
end)
