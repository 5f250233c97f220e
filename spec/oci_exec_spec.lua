-- `sandboxlua oci exec` and `--console-socket`, on a busybox bundle, real
-- processes only, checked through the kernel: the exec'd process's
-- /proc/PID/ns/* are the container init's, its /proc/PID/cgroup the
-- container's, its Seccomp/CapEff/NoNewPrivs lines the container's; with
-- --detach --pid-file under a subreaper (spec/support/subreaper.py, as
-- conmon and containerd's shim are) the pid is the command's and the
-- subreaper reaps it with its exit status; the console's master arrives
-- over the socket (spec/support/console_recv.py) and the command's
-- controlling tty is the pty.  runc on the same bundle where cheap.
local H = require "spec.support.helper"
local oci = require "cgsandbox.oci"
local dkjson = require "dkjson"

local S = require "spec.support.oci"

local BUSYBOX = S.BUSYBOX
local SUPPORT = H.root .. "/spec/support"
local have_runc = os.execute("command -v runc >/dev/null 2>&1")
local A = function(t) return setmetatable(t, oci.array_mt) end
local O = function(t) return setmetatable(t, oci.object_mt) end
local exists, read, rt, state = S.exists, S.read, S.rt, S.state
local function wait_for(fn, secs) return S.wait_for(fn, secs or 10) end
local OURS = S.RT

-- a bundle whose process runs cmd (sh -c), a host directory at /mnt, and
-- a seccomp filter that fails mkdir/mkdirat with EPERM (so that its
-- effect on an exec'd process shows); opts: terminal, consoleSize
local function bundle(cmd, opts)
  opts = opts or {}
  return S.bundle(cmd, function(c)
    c.process.terminal = opts.terminal or false
    c.process.consoleSize = opts.consoleSize
    c.linux.seccomp = O { defaultAction = "SCMP_ACT_ALLOW",
      syscalls = A { O { names = A { "mkdir", "mkdirat" }, action = "SCMP_ACT_ERRNO" } } }
  end)
end

-- a bundle whose config joins the namespace of type ty by path; the config
-- comes back (not yet written) for the spec's own changes
local function join_bundle(cmd, ty, path)
  local d = bundle(cmd)
  local c = assert(oci.load(d))
  for _, n in ipairs(c.linux.namespaces) do
    if n.type == ty then n.path = path end
  end
  return d, c
end

local function ns_of(pid)
  local out = {}
  for _, n in ipairs(H.core.listdir("/proc/" .. pid .. "/ns")) do
    local p = io.popen("readlink /proc/" .. pid .. "/ns/" .. n)
    out[n] = p:read("l")
    p:close()
  end
  return out
end

local function field(status, name) return ("\n" .. status):match("\n" .. name .. ":%s*([^\n]*)") end

-- the container's command: init's one child
local function command_of(init)
  local kids = read(("/proc/%d/task/%d/children"):format(init, init)) or ""
  return tonumber(kids:match("%d+"))
end

-- exec --detach --pid-file under the subreaper helper: its JSON report
local function under_subreaper(bin, root, dir, args, sig)
  local pidfile = dir .. "/exec.pid"
  os.remove(pidfile)
  local out = H.sh(("cd %s && python3 %s/subreaper.py %s %s -- %s --root %s exec --detach --pid-file %s %s")
    :format(dir, SUPPORT, pidfile, sig and ("--signal " .. sig) or "", bin, root, pidfile, args))
  return assert(dkjson.decode(out), out)
end

describe("oci exec", function()
  local dir, root, rroot
  before_each(function()
    root = H.tmpdir()
    rroot = H.tmpdir()
  end)
  after_each(function()
    for _, id in ipairs { "x1", "x2", "t1" } do
      rt(OURS, root, "/", "delete --force " .. id)
      if have_runc then rt("runc", rroot, "/", "delete --force " .. id) end
    end
    os.execute("rm -rf " .. root .. " " .. rroot .. (dir and (" " .. dir) or ""))
    dir = nil
  end)

  -- a running container x1 with `exec sleep 100`: its init and command
  local function running(bin, rr)
    dir = dir or bundle("exec sleep 100")
    local out, rc = rt(bin or OURS, rr or root, dir, "run --detach x1")
    assert.are.equal(0, rc, out)
    local st = assert(state(bin or OURS, rr or root, dir, "x1"))
    assert.are.equal("running", st.status)
    if bin == "runc" then return st.pid, st.pid end -- runc's init is the command
    local cmd
    assert.is_true(wait_for(function()
      cmd = command_of(st.pid)
      return cmd ~= nil and (read("/proc/" .. cmd .. "/comm") or ""):match("sleep") ~= nil
    end))
    return st.pid, cmd
  end

  it("--detach --pid-file: the command joins every namespace of the container's init, is born in its cgroup, gets its seccomp filter, capabilities and no_new_privs, and its subreaper reaps it", function()
    local init, cmd = running()
    local r = under_subreaper(OURS, root, dir, "x1 sleep 100", 15)
    assert.are.equal(0, r.rc, r.out)
    assert.are.equal("", r.out)
    -- the pid file names the command itself: a sleep in the container's
    -- pid namespace (pid 3 there: init 1, the container's sleep 2)
    assert.are.equal("sleep", field(r.status, "Name"))
    assert.matches("^" .. r.pid .. "%s+3$", field(r.status, "NSpid"))
    assert.is_true(r.ppid_is_me)
    -- every namespace is init's; those the container made differ from ours
    local want, mine = ns_of(init), ns_of("self")
    assert.are.same(want, r.ns)
    for _, n in ipairs { "mnt", "pid", "net", "ipc", "uts" } do
      assert.are_not.equal(mine[n], r.ns[n], n)
    end
    -- the cgroup: the container's (the cgroup2 line), which is not ours
    local cg2 = function(s) return s:match("0::([^\n]*)") end
    assert.are.equal(cg2(H.read("/proc/" .. init .. "/cgroup")), cg2(r.cgroup))
    assert.are_not.equal(cg2(H.read("/proc/self/cgroup")), cg2(r.cgroup))
    -- the same process part as the container's command
    local cst = H.read("/proc/" .. cmd .. "/status")
    for _, f in ipairs { "Seccomp", "Seccomp_filters", "CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb",
                         "NoNewPrivs", "Uid", "Gid" } do
      assert.are.equal(field(cst, f), field(r.status, f), f)
    end
    assert.are.equal("2", field(r.status, "Seccomp"))
    assert.are.equal("1", field(r.status, "NoNewPrivs"))
    assert.are.equal("0000000020000420", field(r.status, "CapEff")) -- audit_write, kill, net_bind_service
    -- the subreaper reaped it: killed by its SIGTERM, nothing else came
    assert.is_true(r.reaped)
    assert.are.equal(143, r.code)
    assert.are.equal(0, r.others)
  end)

  it("exits with the command's status (128+N for a signal), passes SIGTERM on, and its filter is the container's", function()
    running()
    local out, rc = rt(OURS, root, dir, "exec x1 sh -c 'exit 7'")
    assert.are.equal(7, rc, out)
    _, rc = rt(OURS, root, dir, "exec x1 sh -c 'kill -9 $$'")
    assert.are.equal(137, rc)
    -- the container's seccomp filter: mkdir fails with EPERM (as root
    -- with a writable /mnt it would work)
    out, rc = rt(OURS, root, dir, "exec x1 sh -c 'mkdir /mnt/d; echo rc=$?'")
    assert.are.equal(0, rc)
    assert.matches("Operation not permitted", out)
    assert.matches("rc=1", out)
    assert.is_false(exists(dir .. "/out/d"))
    -- env, cwd, --user, --cap
    out, rc = rt(OURS, root, dir, "exec --env A=1 --env B=two --cwd /mnt x1 sh -c 'echo $A$B; pwd'")
    assert.are.equal(0, rc, out)
    assert.are.equal("1two\n/mnt\n", out)
    out = rt(OURS, root, dir, "exec --cap CAP_CHOWN x1 grep CapEff /proc/self/status")
    assert.matches("0000000020000421", out)
    -- a command that is not there: 127 and the reason
    out, rc = rt(OURS, root, dir, "exec x1 nosuchcmd")
    assert.are.equal(127, rc)
    assert.matches("nosuchcmd", out)
    -- SIGTERM to exec goes on to the command, whose trap decides the status
    local f = dir .. "/rc"
    os.execute(("cd %s && (%s --root %s exec x1 sh -c 'trap \"exit 42\" TERM; touch /mnt/ready; while :; do sleep 0.05; done' </dev/null >/dev/null 2>&1 & p=$!; n=0; while [ ! -e out/ready ] && [ $n -lt 500 ]; do sleep 0.02; n=$((n+1)); done; kill -TERM $p; wait $p; echo $? > %s) &")
      :format(dir, OURS, root, f))
    assert.is_true(wait_for(function() return (read(f) or "") ~= "" end))
    assert.are.equal("42\n", read(f))
  end)

  it("--process FILE: an OCI process object read as config.json's process is, its errors naming its fields", function()
    running()
    local pf = dir .. "/process.json"
    H.write(pf, oci.encode(O { args = A { "sh", "-c", "id -u; id -g; grep -E 'CapEff|NoNewPrivs' /proc/self/status; cat /proc/self/oom_score_adj" },
      cwd = "/", env = A { "PATH=/bin" }, user = O { uid = 1000, gid = 1001 }, terminal = false, oomScoreAdj = 500 }))
    local out, rc = rt(OURS, root, dir, "exec --process " .. pf .. " x1")
    assert.are.equal(0, rc, out)
    assert.matches("^1000\n1001\nCapEff:%s+0000000000000000\nNoNewPrivs:%s+1\n500\n$", out)
    H.write(pf, '{"args": [], "cwd": "/"}')
    out, rc = rt(OURS, root, dir, "exec --process " .. pf .. " x1")
    assert.are.equal(5, rc)
    assert.are.equal("sandboxlua oci: process.json: args: expected a command (a non-empty array)\n", out)
    H.write(pf, '{"args": ["true"], "cwd": "/", "user": {"uid": -1}}')
    out, rc = rt(OURS, root, dir, "exec --process " .. pf .. " x1")
    assert.are.equal(5, rc)
    assert.matches("^sandboxlua oci: process.json: user.uid: expected an integer", out)
  end)

  it("goes through the site policy, which sees the exec's process in the config", function()
    running()
    local pol = dir .. "/policy.lua"
    H.write(pol, [[return function(config, recipe)
      if config.process.args[1] == "cat" then return nil, "no cat here" end
      return recipe
    end]])
    local out, rc = rt(OURS, root, dir, "--policy " .. pol .. " exec x1 cat /etc/hostname")
    assert.are.equal(5, rc)
    assert.are.equal("sandboxlua oci: no cat here\n", out)
    out, rc = rt(OURS, root, dir, "--policy " .. pol .. " exec x1 echo fine")
    assert.are.equal(0, rc, out)
    assert.are.equal("fine\n", out)
  end)

  it("into a container with its own user namespace: joined first, the ids mapped as the container's", function()
    dir = bundle("exec sleep 100")
    local c = assert(oci.load(dir))
    c.linux.namespaces[#c.linux.namespaces + 1] = O { type = "user" }
    c.linux.uidMappings = A { O { containerID = 0, hostID = 100000, size = 65536 } }
    c.linux.gidMappings = A { O { containerID = 0, hostID = 100000, size = 65536 } }
    H.write(dir .. "/config.json", oci.encode(c, oci.KEY_ORDER))
    local init = running()
    local out, rc = rt(OURS, root, dir, "exec x1 sh -c 'readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u'")
    assert.are.equal(0, rc, out)
    local p = io.popen("readlink /proc/" .. init .. "/ns/user")
    local want = p:read("l")
    p:close()
    assert.are_not.equal(want, H.sh("readlink /proc/self/ns/user"):gsub("%s+$", ""))
    assert.matches("^" .. want:gsub("%p", "%%%0") .. "\n%s*0%s+100000%s+65536\n0\n$", out)
  end)

  it("is refused for a container that is not running (4) or not there (3)", function()
    dir = bundle("exec sleep 100")
    local out, rc = rt(OURS, root, dir, "exec nope true")
    assert.are.equal(3, rc)
    assert.are.equal('sandboxlua oci: container "nope" does not exist\n', out)
    assert.are.equal(0, select(2, rt(OURS, root, dir, "create x2")))
    out, rc = rt(OURS, root, dir, "exec x2 true")
    assert.are.equal(4, rc)
    assert.are.equal("sandboxlua oci: cannot exec in a container that is created\n", out)
    assert.are.equal(0, select(2, rt(OURS, root, dir, "start x2")))
    assert.are.equal(0, select(2, rt(OURS, root, dir, "pause x2")))
    out, rc = rt(OURS, root, dir, "exec x2 true")
    assert.are.equal(4, rc)
    assert.matches("that is paused", out)
    assert.are.equal(0, select(2, rt(OURS, root, dir, "resume x2")))
    assert.are.equal(0, select(2, rt(OURS, root, dir, "kill x2 KILL")))
    assert.is_true(wait_for(function() return state(OURS, root, dir, "x2").status == "stopped" end))
    out, rc = rt(OURS, root, dir, "exec x2 true")
    assert.are.equal(4, rc)
    assert.matches("that is stopped", out)
  end)

  describe("compared with runc's exec on the same bundle", function()
    if not have_runc then
      it("needs runc", function() error("runc is not installed (TEST_PKGS has it)") end)
      return
    end
    it("exit statuses, and --detach --pid-file under a subreaper", function()
      local res = {}
      for _, r in ipairs { { "runc", rroot }, { OURS, root } } do
        local bin, rr = r[1], r[2]
        local init = running(bin, rr)
        local o = {}
        o.exit7 = select(2, rt(bin, rr, dir, "exec x1 sh -c 'exit 7'"))
        o.killed = select(2, rt(bin, rr, dir, "exec x1 sh -c 'kill -9 $$'"))
        local s = under_subreaper(bin, rr, dir, "x1 sleep 100", 15)
        o.rc, o.ppid_is_me, o.reaped, o.code, o.others = s.rc, s.ppid_is_me, s.reaped, s.code, s.others
        o.same_ns = H.sh(("[ \"$(readlink /proc/%d/ns/pid)\" = '%s' ] && echo yes"):format(init, s.ns.pid)) == "yes\n"
        res[#res + 1] = o
        assert.are.equal(0, select(2, rt(bin, rr, dir, "delete --force x1")))
      end
      assert.are.same(res[1], res[2])
      assert.are.same({ exit7 = 7, killed = 137, rc = 0, ppid_is_me = true, reaped = true, code = 143, others = 0,
                        same_ns = true }, res[2])
    end)
  end)
end)

describe("oci --console-socket", function()
  local dir, root
  before_each(function() root = H.tmpdir() end)
  after_each(function()
    for _, id in ipairs { "t1", "t2", "x1" } do rt(OURS, root, "/", "delete --force " .. id) end
    os.execute("rm -rf " .. root .. (dir and (" " .. dir) or ""))
    dir = nil
  end)

  -- the receiver listens on SOCK and runs the runtime with args; it types
  -- `echo hi; tty` into the console it got
  local function console(args, pidfile)
    local sock = dir .. "/console.sock"
    local out = H.sh(("cd %s && PID_FILE=%s python3 %s/console_recv.py %s 'echo hi; tty\n' 'hi,/dev/pts/0' -- %s --root %s %s")
      :format(dir, pidfile or "", SUPPORT, sock, OURS, root, args))
    return assert(dkjson.decode(out), out)
  end

  it("create/run: the console's master comes over the socket in one message, sized by process.consoleSize; the command's controlling tty is the pty", function()
    dir = bundle("exec sh", { terminal = true, consoleSize = O { height = 30, width = 100 } })
    local r = console("run --detach --console-socket " .. dir .. "/console.sock --pid-file " .. dir .. "/pid t1",
      dir .. "/pid")
    assert.are.equal(0, r.rc)
    assert.are.equal(1, r.nfds)
    assert.is_true(r.isatty)
    assert.are.same({ 30, 100 }, r.winsize)
    assert.matches("hi\r?\n/dev/pts/0", r.output)
    -- init has no terminal, the container's shell has the pty as its own
    local init = tonumber(H.read(dir .. "/pid"))
    local n = 0
    for pid, tty in pairs(r.tty_nr) do
      if tonumber(pid) == init then assert.are.equal(0, tty) else assert.are_not.equal(0, tty); n = n + 1 end
    end
    assert.are.equal(1, n)
    -- the hang-up ended the shell, and so the container; its init came to
    -- the receiver (a subreaper), which reaped it
    assert.is_true(r.reaped)
  end)

  it("exec --tty --console-socket: a pty of the container's devpts for the exec'd shell", function()
    dir = bundle("exec sleep 100")
    assert.are.equal(0, select(2, rt(OURS, root, dir, "run --detach x1")))
    local r = console("exec --tty --detach --console-socket " .. dir .. "/console.sock --pid-file "
      .. dir .. "/epid x1 sh", dir .. "/epid")
    assert.are.equal(0, r.rc)
    assert.is_true(r.isatty)
    assert.matches("hi\r?\n/dev/pts/0", r.output)
    local pid = tonumber(H.read(dir .. "/epid"))
    assert.are_not.equal(0, r.tty_nr[tostring(pid)])
    assert.is_true(r.reaped)
  end)

  it("process.terminal without --console-socket, and the socket without a terminal, are refused", function()
    dir = bundle("true", { terminal = true })
    local out, rc = rt(OURS, root, dir, "create t2")
    assert.are.equal(5, rc)
    assert.matches("process.terminal needs %-%-console%-socket", out)
    assert.is_false(exists(root .. "/t2"))
    os.execute("rm -rf " .. dir)
    dir = bundle("exec sleep 100")
    out, rc = rt(OURS, root, dir, "create --console-socket /nonexistent t2")
    assert.are.equal(5, rc)
    assert.matches("without process.terminal", out)
    assert.are.equal(0, select(2, rt(OURS, root, dir, "run --detach x1")))
    out, rc = rt(OURS, root, dir, "exec --tty x1 true")
    assert.are.equal(5, rc)
    assert.matches("needs %-%-console%-socket", out)
  end)
end)

describe("joining a namespace by path", function()
  -- a network namespace of its own (ip netns add, a unique name), with an
  -- address on its lo to recognise it by; removed afterwards
  local name, file, dir, root
  setup(function()
    name = ("sbxjoin%d_%d"):format(H.core.getpid(), math.random(1e6))
    file = "/run/netns/" .. name
    local _, rc = H.sh(("ip netns add %s && ip netns exec %s ip addr add 10.77.%d.1/24 dev lo")
      :format(name, name, H.core.getpid() % 250))
    assert.are.equal(0, rc)
  end)
  teardown(function() H.sh("ip netns del " .. name) end)
  after_each(function()
    if root then rt(OURS, root, "/", "delete --force j1") end
    os.execute("rm -rf " .. (root or "") .. " " .. (dir or ""))
    root, dir = nil, nil
  end)
  local inode = H.inode
  local addr = function() return ("10.77.%d.1/24"):format(H.core.getpid() % 250) end

  -- the runtimes a spec compares: runc where installed, then ours
  local function runtimes(rroot)
    local l = { { OURS, root } }
    if have_runc then table.insert(l, 1, { "runc", rroot }) end
    return l
  end

  -- runc's state directory for a spec, its j1 deleted afterwards
  local function runc_root()
    local rroot = H.tmpdir()
    finally(function()
      rt("runc", rroot, "/", "delete --force j1")
      os.execute("rm -rf " .. rroot)
    end)
    return rroot
  end

  it("recipe join = { net = PATH }: the jail's process is in that namespace (its inode, its address)", function()
    local r = H.run("ip addr show lo; stat -L -c %i /proc/self/ns/net", { join = { net = file } })
    assert.are.equal("exited", r.status, r.message)
    assert.matches(addr(), r.stdout, 1, true)
    assert.are.equal(inode(file), r.stdout:match("(%d+)\n$"))
    -- the other namespaces are still the jail's own
    r = H.run("stat -L -c %i /proc/self/ns/ipc", { join = { net = file } })
    assert.are_not.equal(inode("/proc/self/ns/ipc"), (r.stdout:gsub("%s+$", "")))
  end)

  it("a path that is not a namespace file of that type is refused, naming the field and errno; nothing is left", function()
    local leaves = H.leaves()
    local r = H.run("true", { join = { net = "/proc/self/ns/ipc" } })
    assert.are.equal("setup_error", r.status)
    assert.are.equal("join.net /proc/self/ns/ipc: not a net namespace file: Invalid argument", r.message)
    r = H.run("true", { join = { net = "/etc/hostname" } })
    assert.are.equal("setup_error", r.status)
    assert.are.equal("join.net /etc/hostname: not a net namespace file (NS_GET_NSTYPE): Inappropriate ioctl for device", r.message)
    r = H.run("true", { join = { net = "/nonexistent/x" } })
    assert.are.equal("ENOENT", r.errno)
    assert.matches("^join.net /nonexistent/x", r.message)
    assert.are.equal(leaves, H.leaves())
    local ok, err = pcall(H.sb.compile, H.bb("true", { join = { mnt = file } }))
    assert.is_false(ok)
    assert.matches("join", tostring(type(err) == "table" and err.msg or err))
  end)

  it("a joined namespace takes the jail's sysctls; the host's own is refused, and its value stays", function()
    local r = H.run("cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
      { join = { net = file }, sysctl = { ["net.ipv4.ip_unprivileged_port_start"] = "81" } })
    assert.are.equal("exited", r.status, r.message)
    assert.are.equal("81\n", r.stdout)
    local inside = H.sh("ip netns exec " .. name .. " cat /proc/sys/net/ipv4/ip_unprivileged_port_start")
    assert.are.equal("81\n", inside)
    local host = H.read("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    assert.are_not.equal("81\n", host)
    -- the host's own namespace by another name: refused before anything runs
    r = H.run("true", { join = { net = "/proc/self/ns/net" }, sysctl = { ["net.ipv4.ip_unprivileged_port_start"] = "82" } })
    assert.are.equal("setup_error", r.status)
    assert.are.equal("join.net /proc/self/ns/net: the host's own net namespace, where the jail's sysctls would change "
      .. "the host: Operation not permitted", r.message)
    assert.are.equal(host, H.read("/proc/sys/net/ipv4/ip_unprivileged_port_start"))
  end)

  it("with a user namespace of the jail's own: the netns is joined by the host around the clone, the ids mapped", function()
    local map = "0 100000 65536"
    local r = H.run("ip addr show lo; stat -L -c %i /proc/self/ns/net; readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u",
      { join = { net = file }, namespaces = { "user", "mount", "pid", "ipc", "uts", "cgroup" },
        uid_map = map, gid_map = map })
    assert.are.equal("exited", r.status, r.message)
    assert.matches(addr(), r.stdout, 1, true)
    local ino, userns, uidmap, uid = r.stdout:match("\n(%d+)\n(user:%[%d+%])\n([^\n]*)\n(%d+)\n$")
    assert.are.equal(inode(file), ino, r.stdout)
    assert.are_not.equal(H.trim(H.sh("readlink /proc/self/ns/user")), userns)
    assert.truthy(uidmap:match("^%s*0%s+100000%s+65536$"), uidmap)
    assert.are.equal("0", uid)
    -- the host's namespaces are this thread's own again
    assert.are_not.equal(inode(file), inode("/proc/thread-self/ns/net"))
    -- the namespace is the host's user namespace's: the jail's root has no
    -- capability over it, so the kernel refuses a sysctl there
    r = H.run("true", { join = { net = file }, namespaces = { "user", "mount", "pid", "ipc", "uts" },
      uid_map = map, gid_map = map, sysctl = { ["net.ipv4.ip_unprivileged_port_start"] = "83" } })
    assert.are.equal("setup_error", r.status)
    assert.matches("ip_unprivileged_port_start", r.message)
    assert.are.equal("81\n", H.sh("ip netns exec " .. name .. " cat /proc/sys/net/ipv4/ip_unprivileged_port_start"))
  end)

  it("OCI: a user namespace of the container's own and the netns by path, init and exec in both, as runc", function()
    root = H.tmpdir()
    local rroot = runc_root()
    local c
    dir, c = join_bundle("exec sleep 100", "network", file)
    c.linux.namespaces[#c.linux.namespaces + 1] = O { type = "user" }
    c.linux.uidMappings = A { O { containerID = 0, hostID = 100000, size = 65536 } }
    c.linux.gidMappings = A { O { containerID = 0, hostID = 100000, size = 65536 } }
    -- a new sysfs needs a network namespace of the user namespace's own:
    -- /sys bound, as podman writes it for this case (runc refuses sysfs)
    for _, m in ipairs(c.mounts) do
      if m.destination == "/sys" then
        m.type, m.source = "bind", "/sys"
        m.options = A { "rbind", "nosuid", "noexec", "nodev", "ro" }
      end
    end
    H.write(dir .. "/config.json", oci.encode(c, oci.KEY_ORDER))
    -- the container's init: in the netns and its user namespace, for runc
    -- and for us
    for _, r in ipairs(runtimes(rroot)) do
      local bin, rr = r[1], r[2]
      local out, rc = rt(bin, rr, dir, "run --detach j1")
      assert.are.equal(0, rc, out)
      local init = state(bin, rr, dir, "j1").pid
      assert.are.equal(inode(file), inode("/proc/" .. init .. "/ns/net"), bin)
      assert.truthy(H.read("/proc/" .. init .. "/uid_map"):match("^%s*0%s+100000%s+65536\n$"), bin)
      assert.are_not.equal(inode("/proc/self/ns/user"), inode("/proc/" .. init .. "/ns/user"), bin)
      if bin ~= OURS then assert.are.equal(0, select(2, rt(bin, rr, dir, "delete --force j1"))) end
    end
    -- exec enters all of them in one setns through init's pidfd (runc
    -- 1.1.5 enters the user namespace first, and then may not enter the
    -- host's netns: EPERM)
    local out, rc = rt(OURS, root, dir, "exec j1 sh -c 'ip addr show lo | grep -c 10.77; stat -L -c %i /proc/self/ns/net; "
      .. "cat /proc/self/uid_map; id -u'")
    assert.are.equal(0, rc, out)
    assert.truthy(out:match("^1\n" .. inode(file) .. "\n%s*0%s+100000%s+65536\n0\n$"), out)
  end)

  -- a pid namespace to join: unshare's child `sleep`, its pid 1
  local function pid_target()
    local u = H.trim(H.sh("unshare -p -f --mount-proc sleep 100 >/dev/null 2>&1 & echo $!"))
    local sp
    assert.is_true(wait_for(function()
      sp = H.trim(H.read("/proc/" .. u .. "/task/" .. u .. "/children") or "")
      return sp:match("^%d+$") ~= nil and (read("/proc/" .. sp .. "/comm") or "") == "sleep\n"
    end))
    finally(function() H.sh("kill -9 " .. u .. " " .. sp .. " 2>/dev/null") end)
    return sp, "/proc/" .. sp .. "/ns/pid"
  end

  it("recipe join = { pid = PATH }: init is born in that pid namespace (not its pid 1) and reaps the command's orphans", function()
    local sp, path = pid_target()
    local r = H.run("readlink /proc/self/ns/pid; cat /proc/1/comm; cat /proc/$PPID/comm; "
      .. "(sleep 30 &); sleep 0.3; ps -o ppid,comm | grep ' sleep$' | head -1; sleep 60 &",
      { join = { pid = path } })
    assert.are.equal("exited", r.status, r.message)
    local ns_, one, parent, orphan = r.stdout:match("^(pid:%[%d+%])\n(%S+)\n(%S+)\n%s*(%d+) sleep\n$")
    assert.are.equal(H.trim(H.sh("readlink " .. path)), ns_, r.stdout)
    assert.are.equal("sleep", one)       -- the namespace's own pid 1
    assert.are.equal("sbx-init", parent) -- the command's parent: init
    -- the orphaned sleep went to init (a subreaper), not to that pid 1
    assert.are_not.equal("1", orphan)
    -- the host thread's pid namespace for children is its own again, and
    -- the jail's processes are gone with its cgroup (killed: what is left
    -- are zombies for that namespace's pid 1 to reap, a sleep that never
    -- does)
    assert.are.equal(H.trim(H.sh("readlink /proc/self/ns/pid")), H.trim(H.sh("readlink /proc/"
      .. H.core.getpid() .. "/task/" .. H.core.getpid() .. "/ns/pid_for_children")))
    local left = H.sh(("for f in /proc/[0-9]*/ns/pid; do [ \"$(readlink $f 2>/dev/null)\" = '%s' ] && "
      .. "d=${f%%/ns/pid} && ! grep -q '^State:.Z' $d/status && echo $d; done; true"):format(ns_))
    assert.are.equal("/proc/" .. sp .. "\n", left)
    -- without a cgroup nothing would end them: refused
    r = H.run("true", { join = { pid = path }, cgroup = false })
    assert.are.equal("setup_error", r.status)
    assert.truthy(r.message:find("join.pid " .. path .. ": needs the jail's cgroup", 1, true), r.message)
  end)

  it("OCI linux.namespaces[].path for pid: init and exec in it, the command seeing its pid 1, as runc's does", function()
    root = H.tmpdir()
    local rroot = runc_root()
    local _, path = pid_target()
    local c
    dir, c = join_bundle("exec sleep 100", "pid", path)
    H.write(dir .. "/config.json", oci.encode(c, oci.KEY_ORDER))
    local want = H.trim(H.sh("readlink " .. path))
    for _, r in ipairs(runtimes(rroot)) do
      local bin, rr = r[1], r[2]
      local out, rc = rt(bin, rr, dir, "run --detach j1")
      assert.are.equal(0, rc, out)
      local init = state(bin, rr, dir, "j1").pid
      assert.are.equal(want, H.trim(H.sh("readlink /proc/" .. init .. "/ns/pid")), bin)
      out, rc = rt(bin, rr, dir, "exec j1 sh -c 'readlink /proc/self/ns/pid; cat /proc/1/comm'")
      assert.are.equal(0, rc, out)
      assert.are.equal(want .. "\nsleep\n", out, bin)
      assert.are.equal(0, select(2, rt(bin, rr, dir, "delete --force j1")))
      assert.is_true(wait_for(function() return not S.alive(init) end), bin)
    end
  end)

  it("OCI linux.namespaces[].path: the container's init and an exec'd process are in the netns", function()
    root = H.tmpdir()
    local c
    dir, c = join_bundle("exec sleep 100", "network", file)
    H.write(dir .. "/config.json", oci.encode(c, oci.KEY_ORDER))
    local out, rc = rt(OURS, root, dir, "run --detach j1")
    assert.are.equal(0, rc, out)
    local init = state(OURS, root, dir, "j1").pid
    assert.are.equal(inode(file), inode("/proc/" .. init .. "/ns/net"))
    out, rc = rt(OURS, root, dir, "exec j1 sh -c 'ip addr show lo; stat -L -c %i /proc/self/ns/net'")
    assert.are.equal(0, rc, out)
    assert.matches(addr(), out, 1, true)
    assert.are.equal(inode(file), out:match("(%d+)\n$"))
    -- a joined uts namespace keeps its own name; other types are refused
    c.linux.namespaces[#c.linux.namespaces + 1] = O { type = "cgroup", path = "/proc/1/ns/cgroup" }
    local _, err = oci.to_recipe(c, dir)
    assert.matches("^config.json: linux.namespaces%[%d%].path: joining an existing cgroup namespace is not supported yet", err)
  end)
end)
