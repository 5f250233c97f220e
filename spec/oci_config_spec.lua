-- config.json -> recipe (cgsandbox.oci): the configs runc and sandboxlua
-- write translate and run, what the jail gets is read back from the
-- kernel inside it, every refused field names itself, and the site policy.
local H = require "spec.support.helper"
local oci = require "cgsandbox.oci"
local sb = H.sb

local BUSYBOX = H.busybox:sub(1, 1) == "/" and H.busybox or (os.getenv("PWD") .. "/" .. H.busybox)

local have = H.have

-- the config sandboxlua writes, over the busybox rootfs, running cmd
local function base(cmd)
  local c = oci.default_config(false)
  c.root.path = BUSYBOX
  c.process.terminal = false
  c.process.args = setmetatable({ "/bin/sh", "-c", cmd or "true" }, oci.array_mt)
  return c
end

local function recipe_of(c, bundle, opts)
  local r, notes = oci.to_recipe(c, bundle or "/nonexistent-bundle", opts)
  assert(r, notes)
  return r, notes
end

local function run(r)
  r.stdio = { stdout = "capture", stderr = "capture" }
  local res = sb.run(r)
  assert.are.equal("exited", res.status, tostring(res.message) .. (res.stderr or ""))
  return res.stdout, res
end

local function refusal(c)
  local r, err = oci.to_recipe(c, "/b")
  assert.is_nil(r, "expected a refusal")
  return err
end

local function status_field(out, f) return out:match("\n" .. f .. ":%s*([^\n]*)") or out:match("^" .. f .. ":%s*([^\n]*)") end

local PROBE = "cat /proc/self/status; echo host=$(hostname); echo nofile=$(ulimit -n); " ..
              "touch /probe 2>&1; echo keys=$(cat /proc/keys | wc -c); echo fw=$(ls /sys/firmware | wc -l); " ..
              "echo cg=$(ls /sys/fs/cgroup | wc -l); echo net=$(ls /sys/class/net | tr '\\n' ' '); " ..
              "{ echo x > /proc/sys/kernel/hostname; } 2>&1; echo dev=$(ls /dev | tr '\\n' ' ')"

-- 1 << cap for AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10)
local DEFAULT_CAPS = ("%016x"):format((1 << 29) | (1 << 5) | (1 << 10))

describe("oci config.json", function()
  it("from runc spec translates, and runs with the caps, ids, name, limits and paths it asks for", function()
    if not have("runc") then pending("runc is not installed") return end
    local d = H.tmpdir()
    local _, rc = H.sh("cd " .. d .. " && runc spec")
    assert.are.equal(0, rc)
    local c = assert(oci.load(d))
    c.root.path = BUSYBOX
    c.process.terminal = false
    c.process.args = { "/bin/sh", "-c", PROBE }
    local r, notes = recipe_of(c, d)
    -- runc's cgroup mount at /sys/fs/cgroup becomes a masked path, and says so
    assert.truthy(table.concat(notes, "\n"):find("mounts[6]: a cgroup file system without a cgroup namespace is not mounted", 1, true))
    local out = run(r)
    os.execute("rm -rf " .. d)
    assert.are.equal("0\t0\t0\t0", status_field(out, "Uid"))
    assert.are.equal("0\t0\t0\t0", status_field(out, "Gid"))
    for _, f in ipairs { "CapEff", "CapPrm", "CapBnd" } do assert.are.equal(DEFAULT_CAPS, status_field(out, f), f) end
    assert.are.equal("1", status_field(out, "NoNewPrivs"))
    assert.are.equal("0", status_field(out, "Seccomp")) -- runc spec asks for no filter
    assert.truthy(out:find("\nhost=runc\n", 1, true), out)
    assert.truthy(out:find("\nnofile=1024\n", 1, true), out)
    assert.truthy(out:find("/probe: Read-only file system", 1, true), out)
    assert.truthy(out:find("\nkeys=0\n", 1, true), out)     -- masked
    assert.truthy(out:find("\nfw=0\n", 1, true), out)       -- masked
    assert.truthy(out:find("\ncg=0\n", 1, true), out)       -- the cgroup mount, masked
    assert.truthy(out:find("\nnet=lo\n", 1, true), out)    -- a network namespace
    assert.truthy(out:find("Read-only file system\ndev=", 1, true), out) -- /proc/sys read-only
    assert.truthy(out:find("dev=fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero", 1, true), out)
  end)

  it("from runc spec --rootless translates and runs in a user namespace with its maps", function()
    if not have("runc") then pending("runc is not installed") return end
    local d = H.tmpdir()
    assert.are.equal(0, select(2, H.sh("cd " .. d .. " && runc spec --rootless")))
    local c = assert(oci.load(d))
    c.root.path = BUSYBOX
    c.process.terminal = false
    c.process.args = { "/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; ls /sys/class/net | wc -l" }
    local out = run(recipe_of(c, d))
    os.execute("rm -rf " .. d)
    local uid = H.core.getuid()
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l:gsub("%s+", " "):gsub("^ ", "") end
    assert.are.equal(("0 %d 1"):format(uid), lines[1])
    assert.are.equal(("0 %d 1"):format(H.core.getgid()), lines[2])
    -- no network namespace in a rootless config: the host's interfaces (sysfs bound from the host)
    assert.is_true(tonumber(lines[3]) >= 1)
  end)

  it("runs in a user namespace whose root is not the caller (0 -> 100000), as its root: host name set, uid 0", function()
    local c = base("id -u; id -g; hostname; cat /proc/self/uid_map; grep -E '^(Uid|CapEff|CapAmb|CapInh)' /proc/self/status")
    c.linux.namespaces[#c.linux.namespaces + 1] = { type = "user" }
    c.linux.uidMappings = { { containerID = 0, hostID = 100000, size = 65536 } }
    c.linux.gidMappings = { { containerID = 0, hostID = 100000, size = 65536 } }
    c.hostname = "mapped"
    local out = run(recipe_of(c))
    assert.truthy(out:find("^0\n0\nmapped\n%s+0%s+100000%s+65536\nUid:\t0\t0\t0\t0\n"), out)
    -- the full set the first exec carried over (ambient) is gone again:
    -- the config's three capabilities (kill, net_bind_service,
    -- audit_write) effective, and its empty inheritable and ambient sets
    assert.truthy(out:find("CapEff:\t0000000020000420\n", 1, true), out)
    assert.truthy(out:find("CapInh:\t0000000000000000\n", 1, true), out)
    assert.truthy(out:find("CapAmb:\t0000000000000000\n", 1, true), out)
  end)

  it("mounts the container's own cgroup, read-only, when it has a cgroup namespace", function()
    local c = base()
    c.linux.namespaces[#c.linux.namespaces + 1] = { type = "cgroup" }
    for i = #c.linux.maskedPaths, 1, -1 do
      if c.linux.maskedPaths[i] == "/sys/fs/cgroup" then table.remove(c.linux.maskedPaths, i) end
    end
    c.mounts[#c.mounts + 1] = { destination = "/sys/fs/cgroup", type = "cgroup", source = "cgroup",
                                options = { "nosuid", "noexec", "nodev", "relatime", "ro" } }
    c.process.args = { "/bin/sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup | grep -c '^cgroup.procs$'; " ..
                       "ls -d /sys/fs/cgroup/*/ 2>/dev/null | wc -l; touch /sys/fs/cgroup/x 2>&1" }
    local r = recipe_of(c, "/b")
    local found
    for _, m in ipairs(r.mounts) do if m[1] == "cgroup" then found = m end end
    assert.are.same({ "cgroup", "/sys/fs/cgroup" }, found)
    local out = run(r)
    -- the namespace's root is the container's cgroup: its files, no parent's
    assert.truthy(("\n" .. out):find("\n0::/\n1\n0\n", 1, true), out)
    assert.truthy(out:find("Read-only file system", 1, true), out)
  end)

  it("from sandboxlua oci spec translates and runs", function()
    local d = H.tmpdir()
    local out, rc = H.sh(H.bin .. " oci spec --bundle " .. d)
    assert.are.equal(0, rc, out)
    local c = assert(oci.load(d))
    assert.are.same({ "sh" }, { table.unpack(c.process.args) })
    assert.is_true(c.process.terminal)
    -- and a second spec refuses to overwrite it
    local out2, rc2 = H.sh(H.bin .. " oci spec --bundle " .. d)
    assert.are.equal(1, rc2)
    assert.truthy(out2:find("config.json exists", 1, true), out2)
    c.root.path = BUSYBOX
    c.process.terminal = false
    c.process.args = { "/bin/sh", "-c", PROBE }
    local r, notes = recipe_of(c, d)
    assert.are.same({}, notes)
    local got = run(r)
    os.execute("rm -rf " .. d)
    assert.are.equal(DEFAULT_CAPS, status_field(got, "CapEff"))
    assert.are.equal("1", status_field(got, "NoNewPrivs"))
    assert.truthy(got:find("\nhost=sandboxlua\n", 1, true), got)
    assert.truthy(got:find("/probe: Read-only file system", 1, true), got)
    assert.truthy(got:find("\nkeys=0\n", 1, true), got)
    assert.truthy(got:find("\ncg=0\n", 1, true), got)
  end)

  it("gives the process its user, groups, umask, cwd, env and no capabilities when asked", function()
    local c = base("id -u; id -g; id -G; umask; pwd; echo \"$FOO\"; grep -E '^Cap(Eff|Bnd|Amb)' /proc/self/status")
    c.process.user = { uid = 1000, gid = 1001, additionalGids = { 5, 7 }, umask = 63 }
    c.process.cwd = "/tmp"
    c.process.env = { "PATH=/bin", "FOO=bar baz" }
    c.process.capabilities = nil
    local out = run(recipe_of(c))
    local l = {}
    for x in out:gmatch("[^\n]+") do l[#l + 1] = x end
    assert.are.equal("1000", l[1])
    assert.are.equal("1001", l[2])
    assert.are.same({ "1001", "5", "7" }, (function() local t = {} for g in l[3]:gmatch("%d+") do t[#t + 1] = g end table.sort(t) return t end)())
    assert.are.equal("0077", l[4])
    assert.are.equal("/tmp", l[5])
    assert.are.equal("bar baz", l[6])
    for i = 7, 9 do assert.truthy(l[i]:match("^Cap%a+:%s+0+$"), l[i]) end
  end)

  it("translates seccomp rule for rule: actions, errnos, conditions, flags and architectures", function()
    local c = base()
    c.linux.seccomp = { defaultAction = "SCMP_ACT_TRACE", defaultErrnoRet = 3,
      architectures = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86" }, flags = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW" },
      syscalls = {
        { names = { "socket" }, action = "SCMP_ACT_ERRNO", errnoRet = 97,
          args = { { index = 0, value = 255, valueTwo = 40, op = "SCMP_CMP_MASKED_EQ" }, { index = 2, value = 9, op = "SCMP_CMP_NE" } } },
        { names = { "getpid", "gettid" }, action = "SCMP_ACT_ALLOW" },
        { names = { "ptrace" }, action = "SCMP_ACT_KILL" },
        { names = { "kill" }, action = "SCMP_ACT_KILL_PROCESS" },
        { names = { "uname" }, action = "SCMP_ACT_LOG" },
        { names = { "reboot" }, action = "SCMP_ACT_TRAP" },
        { names = { "mount" }, action = "SCMP_ACT_TRACE", errnoRet = 5 },
        { names = { "umount2" }, action = "SCMP_ACT_ERRNO" },
      } }
    local r = recipe_of(c)
    assert.are.same({ default = "trace", default_errno = 3, architectures = { "x86_64", "x86" },
      flags = { "log", "spec_allow" }, skip_unknown = true, rules = {
        { names = { "socket" }, action = "errno", errno = 97, args = { { 0, "&=", 255, 40 }, { 2, "!=", 9 } } },
        { names = { "getpid", "gettid" }, action = "allow" },
        { names = { "ptrace" }, action = "kill_thread" },
        { names = { "kill" }, action = "kill_process" },
        { names = { "uname" }, action = "log" },
        { names = { "reboot" }, action = "trap" },
        { names = { "mount" }, action = "trace", value = 5 },
        { names = { "umount2" }, action = "errno", errno = 1 },
      } }, r.seccomp)
    -- and the recipe compiles (libseccomp takes every rule)
    assert.truthy(sb.compile(r).seccomp.rules)
  end)

  it("translates the five capability sets as they are, and notes ambient ones the kernel would not raise", function()
    local c = base()
    c.process.capabilities = { bounding = { "CAP_KILL", "CAP_CHOWN" }, permitted = { "CAP_KILL" }, effective = { "CAP_KILL" },
                               inheritable = { "CAP_CHOWN" }, ambient = { "CAP_CHOWN", "CAP_KILL" } }
    local r, notes = recipe_of(c)
    assert.are.same({ bounding = { "chown", "kill" }, permitted = { "kill" }, effective = { "kill" },
                      inheritable = { "chown" }, ambient = {} }, r.capabilities)
    assert.are.same({ "config.json: process.capabilities.ambient: CAP_CHOWN, CAP_KILL not raised: an ambient capability "
      .. "must be permitted and inheritable (the kernel refuses it, and runc goes on without it)" }, notes)
  end)

  it("applies its seccomp profile, its device nodes and rlimits in the kernel", function()
    local c = base("mkdir /tmp/d 2>&1; cat /mnt/hostname; touch /mnt/x 2>&1; grep Seccomp: /proc/self/status; ls -l /dev/mynull; echo hi > /dev/mynull && echo wrote; ulimit -Hn; ulimit -Sn")
    c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", architectures = { "SCMP_ARCH_X86_64" },
                        syscalls = { { names = { "mkdir", "mkdirat", "no_such_call_here" }, action = "SCMP_ACT_ERRNO" } } }
    -- the whole st_mode, as podman passes it (S_IFCHR | 0640)
    c.linux.devices = { { type = "c", path = "/dev/mynull", major = 1, minor = 3, fileMode = 8192 + 416 } }
    c.process.rlimits = { { type = "RLIMIT_NOFILE", soft = 100, hard = 200 } }
    -- a bind of type "bind" alone, read-only: the rootfs's /etc at /mnt
    c.mounts[#c.mounts + 1] = { destination = "/mnt", type = "bind", source = BUSYBOX .. "/etc", options = { "ro" } }
    c.mounts[#c.mounts + 1] = { destination = "/tmp", type = "tmpfs", source = "tmpfs", options = { "size=1m" } }
    local out = run(recipe_of(c))
    assert.truthy(out:find("^mkdir: can't create directory '/tmp/d': Operation not permitted\njail\ntouch: /mnt/x: Read%-only file system\n"), out)
    assert.truthy(out:find("Seccomp:\t2", 1, true), out)
    assert.truthy(out:find("\ncrw%-r%-%-%-%-%- [^\n]* 1,%s+3 [^\n]*/dev/mynull\n"), out)
    assert.truthy(out:find("\nwrote\n200\n100\n", 1, true), out)
  end)

  it("makes missing mount points in the rootfs as runc does, read-only root included; tmpcopyup fills a tmpfs", function()
    local rootfs = H.tmpdir()
    finally(function() os.execute("rm -rf " .. rootfs) end)
    assert(os.execute(("cp -a %s/. %s/"):format(BUSYBOX, rootfs)))
    local src = H.tmpdir()
    finally(function() os.execute("rm -rf " .. src) end)
    H.write(src .. "/extra", "from the host\n")
    local c = base("cat /etc/passwd /etc/extra; ls -d /newdir/sub; touch /etc/w && echo etc-writable; "
      .. "touch /x 2>&1; grep -E ' /(etc|newdir/sub) ' /proc/self/mountinfo")
    c.root.path = rootfs
    c.root.readonly = true
    local m = c.mounts
    m[#m + 1] = { destination = "/etc", type = "tmpfs", source = "tmpfs", options = { "nosuid", "tmpcopyup", "mode=755" } }
    m[#m + 1] = { destination = "/etc/extra", type = "bind", source = src .. "/extra", options = { "bind", "ro" } }
    m[#m + 1] = { destination = "/newdir/sub", type = "bind", source = src, options = { "rbind", "ro" } }
    local r = recipe_of(c)
    assert.is_true(r.root_mountpoints)
    assert.is_true(r.mounts[#r.mounts - 2].copyup)
    local out = run(r)
    assert.truthy(out:find("^root:x:0:0:root:/root:/bin/sh\nnobody:[^\n]*\nfrom the host\n/newdir/sub\netc%-writable\n"
      .. "touch: /x: Read%-only file system\n"), out)
    assert.truthy(out:find(" /etc rw,[^\n]* %- tmpfs "), out)
    assert.truthy(out:find(" /newdir/sub ro,", 1, true), out)
    -- the rootfs got the directory mount point (as runc makes it); the
    -- file went to the tmpfs, and the rootfs's /etc is as it was
    assert.is_true(os.execute("test -d " .. rootfs .. "/newdir/sub") == true)
    assert.is_false(os.execute("test -e " .. rootfs .. "/etc/extra") == true)
    assert.is_false(os.execute("test -e " .. rootfs .. "/etc/w") == true)
  end)

  it("maps resources to limits (runc's conversions) and compiles those the recipes have", function()
    local c = base()
    c.linux.resources = {
      memory = { limit = 256 * 2^20, reservation = 64 * 2^20, swap = 512 * 2^20 },
      cpu = { shares = 1024, quota = 25000, period = 50000, cpus = "0", mems = "0" },
      pids = { limit = 32 },
      blockIO = { throttleReadBpsDevice = { { major = 8, minor = 0, rate = 1048576 } },
                  throttleWriteIOPSDevice = { { major = 8, minor = 0, rate = 100 } } },
      devices = { { allow = false, access = "rwm" }, { allow = true, type = "c", major = 10, minor = 200, access = "rw" },
                  { allow = true, type = "b", major = 7, access = "rwm" }, { allow = false, type = "b", major = 7, access = "w" } },
    }
    local r = recipe_of(c)
    assert.are.same({ memory = 268435456, memory_low = 67108864, swap = 268435456, cpu_shares = 1024, cpu = 0.5,
                      cpu_period = 0.05, cpuset = { cpus = "0", mems = "0" }, pids = 33,
                      io = { ["8:0"] = { rbps = 1048576, wiops = 100 } },
                      rlimits = { nofile = { soft = 1024, hard = 1024 } } }, r.limits)
    assert.are.same({ { "c", 10, 200, "rw" }, { "b", 7, "*", "rm" } }, r.devices)
    local plan = sb.compile(r)
    local w = {}
    for _, x in ipairs(plan.cgroup.writes) do w[x[1]] = x[2] end
    assert.are.equal("268435456", w["memory.max"])
    assert.are.equal("268435456", w["memory.swap.max"])
    assert.are.equal("25000 50000", w["cpu.max"])
    assert.are.equal("100", w["cpu.weight"])
    assert.are.equal("33", w["pids.max"]) -- the container's 32, and sandboxlua's init
    assert.are.equal("8:0 rbps=1048576 wiops=100", w["io.max"])
  end)

  it("maps the newer cgroup fields to the recipe contract (cgroup.path, hugetlb, unified, rdma, io.weight)", function()
    local c = base()
    c.linux.cgroupsPath = "/kubepods/pod1/ctr"
    c.linux.resources = { hugepageLimits = { { pageSize = "2MB", limit = 64 * 2^20 } },
                          unified = { ["memory.high"] = "100M" }, cpu = { burst = 1000, idle = 1 },
                          rdma = { mlx4_0 = { hcaHandles = 2, hcaObjects = 2000 } },
                          blockIO = { weight = 500, weightDevice = { { major = 8, minor = 16, weight = 1000 } } } }
    local r = recipe_of(c, "/b", { cgroup_mountpoint = "/sys/fs/cgroup", cgroup_parent = "/sys/fs/cgroup/sandboxlua" })
    assert.are.same({ path = "/sys/fs/cgroup/kubepods/pod1/ctr", create = true }, r.cgroup)
    assert.are.same({ ["2MB"] = 67108864 }, r.limits.hugetlb)
    assert.are.same({ ["memory.high"] = "100M", ["cpu.max.burst"] = "1000", ["cpu.idle"] = "1" }, r.limits.unified)
    assert.are.same({ mlx4_0 = { hca_handle = 2, hca_object = 2000 } }, r.limits.rdma)
    assert.are.same({ weight = 4950, ["8:16"] = { weight = 10000 } }, r.limits.io)
    -- and the recipe compiles to the kernel's files
    local plan = sb.compile(r)
    local w = {}
    for _, x in ipairs(plan.cgroup.writes) do w[x[1]] = (w[x[1]] and w[x[1]] .. "|" or "") .. x[2] end
    assert.are.same({ ["hugetlb.2MB.max"] = "67108864", ["memory.high"] = "100M", ["cpu.max.burst"] = "1000",
                      ["cpu.idle"] = "1", ["rdma.max"] = "mlx4_0 hca_handle=2 hca_object=2000",
                      ["io.weight"] = "default 4950|8:16 10000" }, w)
    assert.are.equal("/sys/fs/cgroup/kubepods/pod1/ctr", plan.cgroup.path)
    assert.is_true(plan.cgroup.create)
    c.linux.cgroupsPath = "ctr/one"
    c.linux.resources = nil
    r = recipe_of(c, "/b", { cgroup_mountpoint = "/sys/fs/cgroup", cgroup_parent = "/sys/fs/cgroup/sandboxlua" })
    assert.are.same({ path = "/sys/fs/cgroup/sandboxlua/ctr/one", create = true }, r.cgroup)
  end)

  describe("refuses, naming the field,", function()
    local cases = {
      { function(c) c.linux.namespaces[5].path = "/proc/1/ns/mnt" end,
        "config.json: linux.namespaces[4].path: joining an existing mount namespace is not supported yet (network, ipc, uts and pid namespaces are joined by path)" },
      { function(c) c.linux.namespaces[3].path = "proc/1/ns/ipc" end,
        'config.json: linux.namespaces[2].path: expected an absolute path, got "proc/1/ns/ipc"' },
      { function(c) table.remove(c.linux.namespaces, 5) end,
        "config.json: linux.namespaces: a mount namespace is required: sandboxlua always builds the container's own mount table" },
      { function(c) table.remove(c.linux.namespaces, 1) end,
        "config.json: linux.namespaces: a pid namespace is required: sandboxlua's init is the container's pid 1" },
      { function(c) c.process.capabilities.effective = { "CAP_KILL", "CAP_SYS_ADMIN" } end,
        "config.json: process.capabilities.effective[1]: CAP_SYS_ADMIN is not in permitted: the kernel keeps the effective set within the permitted one" },
      { function(c) c.process.capabilities.inheritable = { "CAP_CHOWN" } end,
        "config.json: process.capabilities.inheritable[0]: CAP_CHOWN is not in bounding: the kernel raises into the inheritable set only what the bounding set holds" },
      { function(c) c.process.capabilities.bounding[1] = "CAP_NO_SUCH" end,
        "config.json: process.capabilities.bounding[0]: unknown capability CAP_NO_SUCH" },
      { function(c) c.process.oomScoreAdj = 1001 end,
        "config.json: process.oomScoreAdj: expected an integer from -1000 to 1000, got 1001" },
      { function(c) c.process.apparmorProfile = "docker-default" end,
        "config.json: process.apparmorProfile: AppArmor profiles are not supported" },
      { function(c) c.process.selinuxLabel = "system_u:system_r:container_t:s0" end,
        "config.json: process.selinuxLabel: SELinux labels are not supported" },
      { function(c) c.process.consoleSize = { height = -1, width = 80 } end,
        "config.json: process.consoleSize.height: expected an integer from 0 to 65535, got -1" },
      { function(c) c.process.scheduler = { policy = "SCHED_BATCH" } end,
        "config.json: process.scheduler: scheduling policies are not supported yet" },
      { function(c) c.process.ioPriority = { class = "IOPRIO_CLASS_IDLE" } end,
        "config.json: process.ioPriority: I/O priorities are not supported yet" },
      { function(c) c.process.execCPUAffinity = { initial = "0" } end,
        "config.json: process.execCPUAffinity: CPU affinity at exec is not supported yet" },
      { function(c) c.process.rlimits[1].type = "RLIMIT_BOGUS" end,
        'config.json: process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"' },
      { function(c) c.process.env[2] = "A.B=1" end,
        'config.json: process.env[1]: the name "A.B" is not one a recipe\'s environment takes (letters, digits and _, not starting with a digit)' },
      { function(c) c.process.user.username = "me" end,
        "config.json: process.user.username: a Windows field: not for a Linux container" },
      { function(c) c.hooks = { startContainer = { { path = "/bin/true", timeout = -1 } } } end,
        "config.json: hooks.startContainer[0].timeout: expected an integer from 1 to 86400, got -1" },
      { function(c) c.hooks = { poststop = { { path = "true" } } } end,
        'config.json: hooks.poststop[0].path: expected an absolute path, got "true"' },
      { function(c) c.domainname = "example.org"; c.hostname = nil; table.remove(c.linux.namespaces, 4) end,
        "config.json: domainname: setting the NIS domain name needs a uts namespace" },
      { function(c) table.remove(c.linux.namespaces, 4) end,
        "config.json: hostname: setting the host name needs a uts namespace" },
      { function(c) c.linux.sysctl = { ["kernel.pid_max"] = "4096" } end,
        'config.json: linux.sysctl["kernel.pid_max"]: not a namespaced sysctl (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, kernel.hostname, kernel.domainname): writing it would change the host' },
      { function(c) c.linux.sysctl = { ["net.ipv4.ip_forward"] = "1" }; table.remove(c.linux.namespaces, 2) end,
        'config.json: linux.sysctl["net.ipv4.ip_forward"]: this sysctl belongs to the network namespace, and the container has none of its own' },
      { function(c) c.linux.sysctl = { ["net.ipv4.ip_forward"] = 1 } end,
        'config.json: linux.sysctl["net.ipv4.ip_forward"]: expected a string, got 1' },
      { function(c) c.linux.sysctl = { ["net/../kernel/pid_max"] = "1" } end,
        'config.json: linux.sysctl["net/../kernel/pid_max"]: expected a sysctl name like "net.ipv4.ip_forward", got "net/../kernel/pid_max"' },
      { function(c) c.linux.personality = { domain = "LINUX32", flags = { "ADDR_NO_RANDOMIZE" } } end,
        "config.json: linux.personality.flags: personality flags are not supported yet" },
      { function(c) c.linux.timeOffsets = { monotonic = { secs = 10 } } end,
        "config.json: linux.timeOffsets.monotonic: clock offsets in a time namespace are not supported yet" },
      { function(c) c.linux.mountLabel = "system_u:object_r:container_file_t:s0" end,
        "config.json: linux.mountLabel: SELinux labels are not supported" },
      { function(c) c.linux.intelRdt = { closID = "x" } end, "config.json: linux.intelRdt: Intel RDT is not supported" },
      { function(c) c.linux.rootfsPropagation = "rshared" end,
        'config.json: linux.rootfsPropagation: "rshared" is not supported: the container\'s mounts are private' },
      { function(c) c.linux.memoryPolicy = { mode = "MPOL_BIND" } end,
        "config.json: linux.memoryPolicy: NUMA memory policies are not supported yet" },
      { function(c) c.linux.netDevices = { eth0 = {} } end,
        "config.json: linux.netDevices: moving network devices in is not supported yet" },
      { function(c) c.linux.cgroupsPath = "system.slice:sandboxlua:abc" end,
        'config.json: linux.cgroupsPath: the systemd form "slice:prefix:name" needs --systemd-cgroup, which is not supported yet' },
      { function(c) c.linux.uidMappings = { { containerID = 0, hostID = 1000, size = 1 } } end,
        "config.json: linux.uidMappings: id mappings need a user namespace" },
      { function(c) c.mounts[2].options = { "rbind", "rshared" }; c.mounts[2].type = "bind"; c.mounts[2].source = "/tmp" end,
        'config.json: mounts[1].options[1]: mount propagation "rshared" is not supported: the jail\'s mounts are private' },
      { function(c) c.mounts[1] = { destination = "/data", type = "ext4", source = "/dev/sda1" } end,
        'config.json: mounts[0].type: mounting a file system of type "ext4" is not supported' },
      { function(c) c.mounts[1].options = { "sync" } end, 'config.json: mounts[0].options[0]: the mount option "sync" is not supported' },
      { function(c) c.mounts[1].uidMappings = { { containerID = 0, hostID = 1000, size = 1 } } end,
        "config.json: mounts[0].uidMappings: id-mapped mounts are not supported yet" },
      { function(c) c.linux.resources.memory = { kernel = 1000000 } end,
        "config.json: linux.resources.memory.kernel: kernel memory limits do not exist in cgroup v2" },
      { function(c) c.linux.resources.memory = { swappiness = 10 } end,
        "config.json: linux.resources.memory.swappiness: swappiness does not exist in cgroup v2" },
      { function(c) c.linux.resources.memory = { disableOOMKiller = true } end,
        "config.json: linux.resources.memory.disableOOMKiller: disabling the OOM killer does not exist in cgroup v2" },
      { function(c) c.linux.resources.memory = { swap = 1000000 } end,
        "config.json: linux.resources.memory.swap: a memory+swap limit needs a memory limit" },
      { function(c) c.linux.resources.cpu = { realtimeRuntime = 1000 } end,
        "config.json: linux.resources.cpu.realtimeRuntime: real-time CPU time does not exist in cgroup v2" },
      { function(c) c.linux.resources.blockIO = { leafWeight = 100 } end,
        "config.json: linux.resources.blockIO.leafWeight: leaf weights do not exist in cgroup v2" },
      { function(c) c.linux.resources.network = { classID = 1 } end,
        "config.json: linux.resources.network.classID: net_cls does not exist in cgroup v2" },
      { function(c) c.linux.resources.devices[2] = { allow = true, type = "c", major = 1, access = "rwm" }
                    c.linux.resources.devices[3] = { allow = false, type = "c", major = 1, minor = 5, access = "r" } end,
        "config.json: linux.resources.devices[2]: a denial inside an earlier, wider allow is not supported: the device allow-list has no exceptions" },
      { function(c) c.linux.devices = { { type = "p", path = "/dev/fifo", major = 0, minor = 0 } } end,
        "config.json: linux.devices[0].type: fifos are not supported as devices" },
      { function(c) c.linux.devices = { { type = "c", path = "/dev/x", major = 1, minor = 3, fileMode = 24576 + 438 } } end,
        "config.json: linux.devices[0].fileMode: the file type bits (060000) are not those of a c device" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ERRNO",
          syscalls = { { names = { "personality" }, action = "SCMP_ACT_ALLOW", args = { { index = 0, value = 0, valueTwo = 3, op = "SCMP_CMP_EQ" } } } } } end,
        "config.json: linux.seccomp.syscalls[0].args[0].valueTwo: goes only with SCMP_CMP_MASKED_EQ, not SCMP_CMP_EQ" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ERRNO",
          syscalls = { { names = { "personality" }, action = "SCMP_ACT_ALLOW", args = { { index = 6, value = 0, op = "SCMP_CMP_EQ" } } } } } end,
        "config.json: linux.seccomp.syscalls[0].args[0].index: expected an integer from 0 to 5, got 6" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ERRNO",
          syscalls = { { names = { "personality" }, action = "SCMP_ACT_ALLOW", args = { { index = 0, value = 0, op = "SCMP_CMP_LIKE" } } } } } end,
        'config.json: linux.seccomp.syscalls[0].args[0].op: expected one of SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_LE, SCMP_CMP_LT, SCMP_CMP_MASKED_EQ, SCMP_CMP_NE, got "SCMP_CMP_LIKE"' },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", defaultErrnoRet = 38 } end,
        "config.json: linux.seccomp.defaultErrnoRet: goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_NOTIFY" } end,
        "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY needs a seccomp listener (listenerPath), which is not supported" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", syscalls = { { names = { "getpid" }, action = "SCMP_ACT_NOTIFY" } } } end,
        "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs a seccomp listener (listenerPath), which is not supported" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", flags = { "SECCOMP_FILTER_FLAG_NEW_LISTENER" } } end,
        'config.json: linux.seccomp.flags[0]: the filter flag "SECCOMP_FILTER_FLAG_NEW_LISTENER" is not supported (SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_TSYNC_ESRCH are)' },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", architectures = { "SCMP_ARCH_VAX" } } end,
        'config.json: linux.seccomp.architectures[0]: expected an architecture like "SCMP_ARCH_X86_64", got "SCMP_ARCH_VAX"' },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ALLOW", listenerPath = "/run/seccomp.sock" } end,
        "config.json: linux.seccomp.listenerPath: seccomp notification (SCMP_ACT_NOTIFY) is not supported" },
      { function(c) c.linux.seccomp = { defaultAction = "SCMP_ACT_ERRNO", syscalls = { { names = { "getpid" }, action = "SCMP_ACT_ALLOW", errnoRet = 5 } } } end,
        "config.json: linux.seccomp.syscalls[0].errnoRet: goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE" },
      { function(c) c.windows = { layerFolders = {} } end, "config.json: windows: not a Linux container's field" },
      { function(c) c.ociVersion = "2.0.0" end, "config.json: ociVersion: version 2.0.0 is not supported (1.0 to 1.2 are)" },
      { function(c) c.process.args = {} end, "config.json: process.args: expected a command (a non-empty array)" },
      { function(c) c.root = nil end, "config.json: root: missing: the container's root file system is required" },
      { function(c) c.process.user.uid = -1 end, "config.json: process.user.uid: expected an integer from 0 to 4294967294, got -1" },
    }
    for i, case in ipairs(cases) do
      it(case[2]:match("^config.json: ([^:]+)") .. " (" .. i .. ")", function()
        local c = base()
        case[1](c)
        assert.are.equal(case[2], refusal(c))
      end)
    end
  end)

  it("reports malformed JSON with its line", function()
    local bad = {
      { '{\n  "ociVersion": "1.0.2",\n  "process": {,}\n}', "^config%.json: line 3, column %d+: " },
      { '{\n  "ociVersion": "1.0.2\n', "^config%.json: line 2, column %d+: unterminated string" },
      { '{"a": 1}\n\n garbage', "^config%.json: line 3: text after the JSON value$" },
      { '[1, 2]', "^config%.json: expected a JSON object at the top$" },
      { '{"process": {"args": ["sh", null]}}', "^config%.json: process%.args%[1%]: null is not a value here$" },
    }
    for _, b in ipairs(bad) do
      local d = H.tmpdir()
      local f = assert(io.open(d .. "/config.json", "w"))
      f:write(b[1])
      f:close()
      local c, err = oci.load(d)
      os.execute("rm -rf " .. d)
      assert.is_nil(c)
      assert.truthy(err:match(b[2]), err)
    end
    local c, err = oci.load("/nonexistent-bundle-dir")
    assert.is_nil(c)
    assert.truthy(err:match("^config%.json: /nonexistent%-bundle%-dir/config%.json: No such file"), err)
  end)

  it("notes what it does beyond the config, and ignores unknown fields as the spec asks", function()
    local c = base()
    c.process.noNewPrivileges = false
    c.linux.fancyNewThing = true
    local _, notes = recipe_of(c)
    local all = table.concat(notes, "\n")
    assert.truthy(all:find("config.json: process.noNewPrivileges: not true: sandboxlua always sets no_new_privs", 1, true), all)
    assert.truthy(all:find("config.json: linux.fancyNewThing: unknown field, ignored", 1, true), all)
  end)

  describe("site policy (examples/oci-policy.lua)", function()
    local policy_file = H.root .. "/examples/oci-policy.lua"

    it("refuses a privileged config with its own message", function()
      local c = base()
      for _, s in ipairs { "bounding", "effective", "permitted" } do
        table.insert(c.process.capabilities[s], "CAP_SYS_ADMIN")
      end
      local r, err = oci.apply_policy(policy_file, c, recipe_of(c))
      assert.is_nil(r)
      assert.are.equal("site policy: privileged containers (CAP_SYS_ADMIN) are not allowed on this host", err)
      local c2 = base()
      table.remove(c2.linux.namespaces, 2) -- the host's network, no user namespace
      for _, n in ipairs(c2.linux.namespaces) do assert.are_not.equal("network", n.type) end
      local r2, err2 = oci.apply_policy(policy_file, c2, recipe_of(c2))
      assert.is_nil(r2)
      assert.are.equal("site policy: the host's network is allowed only in a user namespace (rootless) here", err2)
    end)

    it("caps memory at 1G and forces the default seccomp filter, seen in the kernel", function()
      -- a user namespace needs no capability: only a seccomp filter stops it
      local c = base("grep Seccomp: /proc/self/status; unshare -U true 2>&1 && echo userns-made")
      local before = run(recipe_of(c))
      c.linux.resources.memory = { limit = 4 * 2^30 }
      local r0 = recipe_of(c)
      assert.are.equal(false, r0.seccomp)
      assert.truthy(before:find("Seccomp:\t0\nuserns-made\n", 1, true), before)
      local r = assert(oci.apply_policy(policy_file, c, r0))
      assert.are.equal(2^30, r.limits.memory)
      local plan = sb.compile(r)
      local w = {}
      for _, x in ipairs(plan.cgroup.writes) do w[x[1]] = x[2] end
      assert.are.equal("1073741824", w["memory.max"])
      -- the caller's config and recipe are untouched
      assert.are.equal(4 * 2^30, c.linux.resources.memory.limit)
      assert.are.equal(false, r0.seccomp)
      -- run it without its memory limit where this host has no memory controller
      local f = io.open(H.core.cgroup_mountpoint() .. "/cgroup.controllers")
      local avail = f and f:read("a") or ""
      if f then f:close() end
      if not avail:find("%f[%w]memory%f[%W]") then r.limits.memory = nil end
      local out = run(r)
      assert.truthy(out:find("Seccomp:\t2", 1, true), out)
      assert.truthy(out:find("Operation not permitted", 1, true), out) -- unshare: denied by the default filter
      assert.falsy(out:find("userns-made", 1, true), out)
    end)

    it("cannot change the caller's config, and its errors are messages, not tracebacks", function()
      local c = base()
      local r0 = recipe_of(c)
      local r = oci.apply_policy(function(config, recipe)
        config.process.args[1] = "/bin/evil"
        config.linux.namespaces = {}
        recipe.hostname = "policy"
        return recipe
      end, c, r0)
      assert.are.equal("policy", r.hostname)
      assert.are.equal("/bin/sh", c.process.args[1])
      assert.are.equal(5, #c.linux.namespaces)
      assert.are.equal("sandboxlua", r0.hostname)

      local f = H.recipe_file("return function(config, recipe)\n  return config.nothing.here\nend\n")
      local rr, err = oci.apply_policy(f, c, r0)
      assert.is_nil(rr)
      assert.truthy(err:find("^policy " .. f:gsub("%p", "%%%0") .. " failed: " .. f:gsub("%p", "%%%0") .. ":2: attempt to index"), err)
      assert.falsy(err:find("traceback", 1, true), err)
      local g = H.recipe_file("return 42\n")
      local _, err2 = oci.apply_policy(g, c, r0)
      assert.are.equal(("policy %s: expected the file to return a function(config, recipe), got number"):format(g), err2)
      local _, err3 = oci.apply_policy(function() return nil end, c, r0)
      assert.are.equal("refused by the site policy", err3)
      os.remove(f)
      os.remove(g)
    end)

    it("sees a config the translation refused: its own refusal is shown, else the translation's", function()
      local c = base()
      c.process.scheduler = { policy = "SCHED_IDLE" }
      local r0, refusal = oci.to_recipe(c, "/b", { syscall_exists = function() return true end })
      assert.is_nil(r0)
      local seen
      local _, err = oci.apply_policy(function(config, recipe, why)
        seen = { config.process.scheduler.policy, recipe, why }
        return nil, "site policy: no idle scheduling here"
      end, c, r0, refusal)
      assert.are.same({ "SCHED_IDLE", nil, refusal }, seen)
      assert.are.equal("site policy: no idle scheduling here", err)
      -- a policy that lets it pass, or returns a recipe of nothing: the refusal stands
      local _, err2 = oci.apply_policy(function(_, recipe, why) return recipe, why end, c, r0, refusal)
      assert.are.equal(refusal, err2)
      local _, err3 = oci.apply_policy(function() return { command = { "/bin/true" } } end, c, r0, refusal)
      assert.are.equal(refusal, err3)
    end)
  end)

  describe("sandboxlua oci", function()
    it("features prints runc's features document with what this runtime honours", function()
      local out, rc = H.sh(H.bin .. " oci features 2>/dev/null")
      assert.are.equal(0, rc, out)
      local f = assert(oci.decode(out, "features"))
      assert.are.equal("1.0.0", f.ociVersionMin)
      assert.are.equal("1.2.0", f.ociVersionMax)
      assert.are.same({ "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" },
        { table.unpack(f.hooks) })
      assert.are.equal(getmetatable(f.hooks), oci.array_mt)
      assert.is_true(f.linux.seccomp.enabled)
      assert.is_true(f.linux.cgroup.v2)
      assert.is_false(f.linux.cgroup.systemd)
      local set = {}
      for _, x in ipairs(f.linux.capabilities) do set[x] = true end
      assert.is_true(set.CAP_SYS_ADMIN and set.CAP_KILL)
      set = {}
      for _, x in ipairs(f.mountOptions) do set[x] = true end
      assert.is_true(set.rbind and set.ro and set.nosuid)
      assert.is_nil(set.rshared)
      local sc = f.linux.seccomp
      for _, l in ipairs { sc.actions, sc.operators, sc.archs, sc.supportedFlags } do
        set = {}
        for _, x in ipairs(l) do set[x] = true end
        assert.is_true(set.SCMP_ACT_TRACE or set.SCMP_CMP_MASKED_EQ or set.SCMP_ARCH_X86 or set.SECCOMP_FILTER_FLAG_LOG)
        assert.is_nil(set.SCMP_ACT_NOTIFY or set.SECCOMP_FILTER_FLAG_NEW_LISTENER)
      end
      if have("runc") then
        -- the same keys as runc's document, at the top and under linux
        local rf = assert(oci.decode((H.sh("runc features")), "runc features"))
        for k in pairs(rf) do assert.is_not_nil(f[k], k) end
        for k in pairs(rf.linux) do assert.is_not_nil(f.linux[k], "linux." .. k) end
        for k in pairs(rf.linux.seccomp) do assert.is_not_nil(f.linux.seccomp[k], "linux.seccomp." .. k) end
      end
    end)

    it("refuses the commands that are not there yet", function()
      local out, rc = H.sh(H.bin .. " oci events x")
      assert.are.equal(2, rc)
      assert.are.equal("sandboxlua oci: events is not supported yet (see sandboxlua oci --help)\n", out)
    end)
  end)
end)
