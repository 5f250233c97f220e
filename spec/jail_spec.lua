-- The jail, checked from inside: namespaces, mounts, root, environment.
local H = require "spec.support.helper"
local sb = H.sb

describe("a jail", function()
  it("runs its command as pid 1's child, pid 1 being the jail's init", function()
    local r = H.run("echo $$; cat /proc/1/comm")
    assert.are.equal("exited", r.status)
    assert.are.equal(0, r.exit_code)
    assert.are.equal("2\nsbx-init\n", r.stdout)
  end)

  it("has its own hostname", function()
    local r = H.run("hostname; cat /proc/sys/kernel/hostname", { hostname = "unit-jail" })
    assert.are.equal("unit-jail\nunit-jail\n", r.stdout)
    local f = assert(io.open("/proc/sys/kernel/hostname"))
    assert.are_not.equal("unit-jail", f:read("l"))
    f:close()
  end)

  it("sees only its own processes in /proc", function()
    local r = H.run("ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '")
    -- init (1), sh (2), ls/grep/sort/tr: all small pids of the jail's namespace
    for pid in r.stdout:gmatch("%d+") do
      assert.is_true(tonumber(pid) < 20, "foreign pid " .. pid .. " in " .. r.stdout)
    end
    assert.truthy(r.stdout:match("^1 2 "))
  end)

  it("does not see host paths outside its rootfs", function()
    local probe = H.root .. "/spec"
    local r = H.run(("test -e %q && echo visible || echo hidden; ls /"):format(probe))
    assert.are.equal("hidden", r.stdout:match("^(%a+)"))
    assert.falsy(r.stdout:find("\nspec\n", 1, true))
    assert.truthy(r.stdout:find("\nbin\n", 1, true))
  end)

  it("stays in the jail when walking .. from /", function()
    local r = H.run("cd / && cd ../../.. && pwd && ls -di . && ls -di /")
    local lines = {}
    for l in r.stdout:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("/", lines[1])
    assert.are.equal(lines[2]:match("^%s*(%d+)"), lines[3]:match("^%s*(%d+)"))
    assert.truthy(r.stdout:find("/", 1, true))
  end)

  it("leaves no old root reachable after pivot_root", function()
    local r = H.run("cat /proc/self/mountinfo")
    -- one mount at /, and it is the rootfs; no mount point outside the jail's tree
    local roots = 0
    for line in r.stdout:gmatch("[^\n]+") do
      local root, mp = line:match("^%d+ %d+ %S+ (%S+) (%S+)")
      if mp == "/" then
        roots = roots + 1
        assert.truthy(root:find("rootfs/busybox$"), line)
      end
    end
    assert.are.equal(1, roots)
    local r2 = H.run("ls /proc/1/root/ | tr '\\n' ' '")
    assert.falsy(r2.stdout:find("spec", 1, true))
  end)

  it("refuses writes through a read-only bind (EROFS)", function()
    local r = H.run("touch /src/x; echo rc=$?", {
      mounts = { { "bind", H.root .. "/spec", "/src", ro = true } } })
    assert.truthy(r.stderr:find("Read%-only file system"))
    assert.truthy(r.stdout:find("rc=1", 1, true))
    local r2 = H.run("test -f /src/jail_spec.lua && echo present", {
      mounts = { { "bind", H.root .. "/spec", "/src", ro = true } } })
    assert.are.equal("present\n", r2.stdout)
  end)

  it("writes through a read-write bind land on the host", function()
    local dir = H.tmpdir()
    local r = H.run("echo from-jail > /data/out", { mounts = { { "bind", dir, "/data" } } })
    assert.are.equal(0, r.exit_code)
    local f = assert(io.open(dir .. "/out"))
    assert.are.equal("from-jail\n", f:read("a"))
    f:close()
    os.execute("rm -rf " .. dir)
  end)

  it("gives a writable overlay of a host directory, leaving the host's copy untouched", function()
    local dir = H.tmpdir()
    assert(os.execute(("mkdir -p %s/sub && echo orig > %s/a && echo keep > %s/sub/b"):format(dir, dir, dir)))
    finally(function() os.execute("rm -rf " .. dir) end)
    local r = H.run("cd /work && echo changed > a && rm sub/b && echo new > c && cat a c && ls sub | wc -l && " ..
                    "grep ' /work ' /proc/self/mountinfo | grep -c overlay",
                    { mounts = { { "overlay", dir, "/work", size = "4M" } } })
    assert.are.equal(0, r.exit_code, r.message or r.stderr)
    assert.are.equal("changed\nnew\n0\n1\n", r.stdout)
    assert.are.equal("orig\n", io.open(dir .. "/a"):read("a"))
    assert.are.equal("keep\n", io.open(dir .. "/sub/b"):read("a"))
    assert.is_nil(io.open(dir .. "/c"))
  end)

  it("keeps no handle on the host's tree open in its init", function()
    local h = assert(sb.spawn(H.bb("sleep 30", { mounts = { { "bind", H.root .. "/spec", "/src", ro = true },
                                                            { "overlay", H.root .. "/examples", "/work" } } })))
    finally(function() h:close() end)
    local fds = H.sh("ls -l /proc/" .. h:pid() .. "/fd | grep -- '->'")
    assert.truthy(fds:find("socket:", 1, true), fds) -- the line to the host
    assert.falsy(fds:find(" -> /"), fds)             -- no path: no host file, dir or tty
  end)

  it("has a read-only root and writable tmpfs mounts", function()
    local r = H.run("touch /etc/x 2>&1; echo a > /tmp/t && cat /tmp/t; grep ' /tmp ' /proc/self/mounts",
      { mounts = { { "tmpfs", "/tmp", size = "1M" } } })
    assert.truthy(r.stdout:find("Read%-only file system"))
    assert.truthy(r.stdout:find("\na\n", 1, true))
    assert.truthy(r.stdout:find("tmpfs /tmp tmpfs rw,nosuid,nodev", 1, true))
    assert.truthy(r.stdout:find("size=1024k", 1, true))
  end)

  it("has a minimal /dev", function()
    local r = H.run("ls /dev | tr '\\n' ' '; echo; head -c 4 /dev/zero | od -An -tx1; echo x > /dev/null && echo null-ok;" ..
                    " test -c /dev/urandom && echo urandom-ok; readlink /dev/fd; readlink /dev/ptmx")
    for _, n in ipairs { "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "fd",
                         "stdin", "stdout", "stderr", "ptmx" } do
      assert.truthy(r.stdout:find("%f[%w]" .. n .. "%f[%W]"), n .. " missing: " .. r.stdout)
    end
    assert.truthy(r.stdout:find("00 00 00 00", 1, true))
    assert.truthy(r.stdout:find("null-ok", 1, true))
    assert.truthy(r.stdout:find("urandom-ok", 1, true))
    assert.truthy(r.stdout:find("/proc/self/fd\npts/ptmx", 1, true))
    -- no host devices: no disks, no /dev/mem
    assert.falsy(r.stdout:find("%f[%w]mem%f[%W]"))
    assert.falsy(r.stdout:find("vda", 1, true))
  end)

  it("has no network but loopback, and loopback is up", function()
    local r = H.run("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ip -o link 2>/dev/null | grep -c UP;" ..
                    " sleep 5 | nc -l -p 7777 >/tmp/got & for i in $(seq 100); do echo ping | nc -w1 127.0.0.1 7777 2>/dev/null && break;" ..
                    " sleep 0.05; done; for i in $(seq 100); do [ -s /tmp/got ] && break; sleep 0.05; done; cat /tmp/got",
                    { mounts = { { "tmpfs", "/tmp" } } })
    local ifaces = {}
    for l in r.stdout:gmatch("[^\n]+") do ifaces[#ifaces + 1] = l end
    assert.are.equal("lo", ifaces[1])
    assert.falsy(ifaces[2] and ifaces[2]:match("^%a"), "extra interface: " .. r.stdout)
    assert.truthy(r.stdout:find("ping", 1, true), "loopback: " .. r.stdout .. r.stderr)
    local r2 = H.run("nc -w 1 1.1.1.1 80 </dev/null; echo rc=$?")
    assert.truthy(r2.stderr:find("unreachable", 1, true) or r2.stderr:find("network", 1, true), r2.stderr)
    assert.truthy(r2.stdout:find("rc=1", 1, true), r2.stdout)
  end)

  it("gets exactly the environment the recipe sets", function()
    local r = H.run("env | sort", { env = { FOO = "bar", PATH = "/bin" } })
    assert.are.equal("FOO=bar\nPATH=/bin\n", r.stdout:gsub("PWD=[^\n]*\n", ""):gsub("SHLVL=[^\n]*\n", ""))
  end)

  it("does not inherit the host's environment by default", function()
    local r = H.run("env")
    assert.falsy(r.stdout:find("HOME=", 1, true))
    assert.falsy(r.stdout:find("SBX_SECRET", 1, true))
    assert.truthy(r.stdout:find("PATH=/usr/local/sbin", 1, true))
  end)

  it("starts in cwd as the requested uid/gid", function()
    local r = H.run("pwd; id -u; id -g", { cwd = "/tmp", user = { uid = 65534, gid = 65534 } })
    assert.are.equal("/tmp\n65534\n65534\n", r.stdout)
  end)

  it("gives the command a session of its own", function()
    local r = H.run("cat /proc/self/stat | cut -d' ' -f6,7")
    -- session id = the shell's own pid (2), no controlling tty (0)
    assert.are.equal("2 0\n", r.stdout)
  end)

  it("runs over the host's root, read-only, when no rootfs is given", function()
    local r = sb.run { command = { "/bin/sh", "-c", "test -x /usr/bin/env && echo host-root; touch /usr/x 2>&1; grep -c . /proc/mounts" },
                       stdio = { stdout = "capture", stderr = "capture" } }
    assert.are.equal(0, r.exit_code)
    assert.truthy(r.stdout:find("host-root", 1, true))
    assert.truthy(r.stdout:find("Read-only file system", 1, true))
  end)

  it("does not show the host's cgroupfs or /sys of the host root", function()
    local r = sb.run { command = { "/bin/sh", "-c", "ls /sys/fs/cgroup | wc -l; awk '$3 ~ /cgroup/' /proc/self/mounts | wc -l" },
                       stdio = { stdout = "capture", stderr = "capture" } }
    assert.are.equal("0\n0\n", r.stdout)
  end)

  it("forwards SIGTERM from init to the command and reports its status", function()
    local dir = H.tmpdir()
    local h = assert(sb.spawn(H.bb("trap 'echo got-term; exit 7' TERM; touch /data/ready; while :; do sleep 0.05; done",
                                   { mounts = { { "bind", dir, "/data" } } })))
    finally(function() h:close(); os.execute("rm -rf " .. dir) end)
    for _ = 1, 200 do -- the trap is set once the file exists
      if io.open(dir .. "/ready") then break end
      H.sh("sleep 0.05")
    end
    assert(h:kill("TERM"))
    local r = h:wait()
    assert.are.equal("exited", r.status)
    assert.are.equal(7, r.exit_code)
    assert.truthy(r.stdout:find("got-term", 1, true))
  end)

  it("reaps orphans as pid 1 and ends with the command", function()
    local r = H.run("(sleep 30 &) ; (sleep 31 &); sleep 0.2; ps -o stat,comm | grep -c '^Z'; exit 4")
    assert.are.equal(4, r.exit_code)
    assert.are.equal("0\n", r.stdout)
    assert.is_true(r.wall_s < 10) -- the orphaned sleeps died with the jail
  end)

  it("reports a command killed by a signal as 128+N", function()
    local r = H.run("kill -SEGV $$")
    assert.are.equal("signaled", r.status)
    assert.are.equal("SIGSEGV", r.signal)
    assert.are.equal(139, r.exit_code)
  end)

  it("can chroot instead of pivot_root when asked", function()
    local r = H.run("ls / | tr '\\n' ' '", { root_switch = "chroot" })
    assert.are.equal(0, r.exit_code)
    assert.truthy(r.stdout:find("bin", 1, true))
  end)
end)
