-- The configs podman and containerd write by default, run through
-- `sandboxlua oci run`, and what the kernel shows of them inside: the
-- seccomp profile (argument conditions, its errnos, the x86 ABI it adds),
-- the five capability sets (a non-root user with ambient capabilities
-- too), sysctls, oom_score_adj, the NIS domain name, the personality.
--
-- spec/fixtures/podman-4.3.1-run.json is the config.json podman 4.3.1
-- (Debian 12) gave its runtime for `podman run --rm localhost/bb echo hi`
-- (the busybox rootfs imported), recorded through a wrapper around runc;
-- trimmed: the bind sources made relative to the bundle, root.path
-- "rootfs", and the network namespace's path (podman's own netns, joined
-- by path: another part of issue 12) left out, so the container gets a new
-- one.  spec/fixtures/ctr-1.6.20-oci-spec.json is `ctr oci spec`.
local H = require "spec.support.helper"
local oci = require "cgsandbox.oci"

-- absolute: the runtime runs in the bundle's directory
local function absolute(p) return p:sub(1, 1) == "/" and p or (os.getenv("PWD") .. "/" .. p) end
local ROOT, BIN = absolute(H.root), absolute(H.bin)
local FIXTURES = ROOT .. "/spec/fixtures/"
local n = 0

-- linux/capability.h
local CAP = { CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_FOWNER = 3, CAP_FSETID = 4, CAP_KILL = 5,
              CAP_SETGID = 6, CAP_SETUID = 7, CAP_SETPCAP = 8, CAP_NET_BIND_SERVICE = 10, CAP_NET_RAW = 13,
              CAP_SYS_CHROOT = 18, CAP_MKNOD = 27, CAP_AUDIT_WRITE = 29, CAP_SETFCAP = 31 }
local function caps_mask(names)
  local m = 0
  for _, c in ipairs(names) do
    local i = CAP[c]
    assert(i, c)
    m = m | (1 << i)
  end
  return ("%016x"):format(m)
end

local function cgroup2_has(ctl)
  local f = io.open(H.core.cgroup_mountpoint() .. "/cgroup.controllers")
  local s = f and f:read("a") or ""
  if f then f:close() end
  return s:find("%f[%w]" .. ctl .. "%f[%W]") ~= nil
end

-- a bundle for config c: a copy of the busybox rootfs (podman's binds go
-- onto files the image has), the files its binds name, the hog at /mnt
local function bundle(c, cmd)
  n = n + 1
  local d = H.tmpdir()
  assert(os.execute(("cp -a %s %s/rootfs && touch %s/rootfs/etc/resolv.conf %s/rootfs/etc/hosts "
    .. "%s/rootfs/run/.containerenv && mkdir -p %s/shm && echo %s > %s/hostname && touch %s/hosts "
    .. "%s/resolv.conf %s/.containerenv"):format(absolute(H.busybox), d, d, d, d, d, "pod-" .. n, d, d, d, d)))
  c.root.path = "rootfs"
  c.process.terminal = false
  c.process.args = setmetatable({ "/bin/sh", "-c", cmd }, oci.array_mt)
  c.mounts[#c.mounts + 1] = setmetatable({ destination = "/mnt", type = "bind", source = ROOT .. "/build/spec",
    options = setmetatable({ "rbind", "ro" }, oci.array_mt) }, oci.object_mt)
  c.linux.cgroupsPath = ("/sbx-fields-%d-%d"):format(H.core.getpid(), n)
  -- this host's cgroup2 tree may lack the pids controller (hybrid
  -- hierarchy): the limit goes where it cannot be written
  if c.linux.resources and c.linux.resources.pids and not cgroup2_has("pids") then
    c.linux.resources.pids = nil
  end
  H.write(d .. "/config.json", oci.encode(c, oci.KEY_ORDER))
  return d
end

-- `sandboxlua oci run` in the bundle: output (stdout and stderr), rc
local function run(d, id)
  local root = H.tmpdir()
  local f = os.tmpname()
  local _, rc = H.sh(("cd %s && %s oci --root %s run %s </dev/null >%s 2>&1"):format(d, BIN, root, id, f))
  local out = H.read(f)
  os.remove(f)
  os.execute("rm -rf " .. root .. " " .. d)
  return out, rc
end

local function field(out, f) return out:match("\n" .. f .. ":%s*([^\n]*)") or out:match("^" .. f .. ":%s*([^\n]*)") end

local function load(name) return assert(oci.decode(H.read(FIXTURES .. name))) end

describe("oci fields through the kernel", function()
  it("podman's default config (its whole seccomp profile) translates, loads and runs busybox", function()
    local c = load("podman-4.3.1-run.json")
    local caps = c.process.capabilities.bounding
    local r, notes = oci.to_recipe(c, "/b")
    assert(r, notes)
    assert.are.equal("errno", r.seccomp.default)
    assert.are.equal(38, r.seccomp.default_errno)
    assert.are.same({ "x86_64", "x86", "x32" }, r.seccomp.architectures)
    local d = bundle(c, "echo hi; grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/$$/status; ulimit -n; "
      .. "/mnt/hog call personality 0xffffffff; /mnt/hog call personality 0x40000; /mnt/hog call vhangup; "
      .. "/mnt/hog try int80; ls /bin | wc -l")
    local out, rc = run(d, "podman-" .. H.core.getpid())
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^hi\n"), out)
    -- the filter is loaded: one of the command's own (sbx-init's is init's)
    assert.are.equal("2", field(out, "Seccomp"))
    assert.are.equal("1", field(out, "Seccomp_filters"))
    for _, s in ipairs { "CapEff", "CapPrm", "CapBnd" } do assert.are.equal(caps_mask(caps), field(out, s), s) end
    assert.are.equal(("0"):rep(16), field(out, "CapInh"))
    assert.are.equal(("0"):rep(16), field(out, "CapAmb"))
    assert.truthy(out:find("\n20000\n", 1, true), out)
    -- personality(0xffffffff) (the query) is allowed by an args rule;
    -- another persona matches no rule: the profile's default, ENOSYS
    assert.truthy(out:find("personality ret=%d+ errno=0\n"), out)
    assert.truthy(out:find("personality ret=-1 errno=38\n", 1, true), out)
    -- an explicit SCMP_ACT_ERRNO with errnoRet 1
    assert.truthy(out:find("vhangup ret=-1 errno=1\n", 1, true), out)
    -- SCMP_ARCH_X86 is in the filter: the 32-bit ABI's getpid is allowed
    -- (sandboxlua's own filter kills it)
    assert.truthy(out:find("\nint80 ok\n", 1, true), out)
  end)

  it("containerd's default config (ctr oci spec) runs with the caps, rlimits and masks it asks for", function()
    local c = load("ctr-1.6.20-oci-spec.json")
    local d = bundle(c, "grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/$$/status; grep -E ' /dev(/pts|/shm)? ' /proc/mounts; "
      .. "ulimit -n; cat /proc/keys | wc -c; cat /proc/$$/oom_score_adj")
    local out, rc = run(d, "ctr-" .. H.core.getpid())
    assert.are.equal(0, rc, out)
    -- /dev, /dev/pts and /dev/shm with the config's options, in the mount table
    assert.truthy(out:find("\n[^\n]* /dev tmpfs [^\n]*size=65536k,mode=755"), out)
    assert.truthy(out:find("\n[^\n]* /dev/pts devpts [^\n]*gid=5,mode=620,ptmxmode=666"), out)
    assert.truthy(out:find("\n[^\n]* /dev/shm tmpfs [^\n]*nodev,noexec[^\n]*size=65536k"), out)
    local caps = c.process.capabilities.bounding
    for _, s in ipairs { "CapEff", "CapPrm", "CapBnd" } do assert.are.equal(caps_mask(caps), field(out, s), s) end
    assert.are.equal(("0"):rep(16), field(out, "CapInh"))
    assert.are.equal(("0"):rep(16), field(out, "CapAmb"))
    assert.are.equal("0", field(out, "Seccomp")) -- ctr's spec has no profile
    assert.are.equal("1", field(out, "NoNewPrivs"))
    assert.truthy(out:find("\n1024\n0\n0\n$"), out)
  end)

  it("gives a non-root user the five capability sets as given, ambient ones surviving exec", function()
    local c = load("ctr-1.6.20-oci-spec.json")
    c.process.user = { uid = 1000, gid = 1000 }
    c.process.capabilities = {
      bounding = c.process.capabilities.bounding,
      permitted = { "CAP_NET_BIND_SERVICE", "CAP_KILL" },
      effective = { "CAP_NET_BIND_SERVICE" },
      inheritable = { "CAP_NET_BIND_SERVICE", "CAP_CHOWN" },
      ambient = { "CAP_NET_BIND_SERVICE" },
    }
    local d = bundle(c, "id -u; grep -E '^Cap' /proc/$$/status")
    local out, rc = run(d, "caps-" .. H.core.getpid())
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^1000\n"), out)
    assert.are.equal(caps_mask(c.process.capabilities.bounding), field(out, "CapBnd"))
    assert.are.equal(caps_mask { "CAP_NET_BIND_SERVICE", "CAP_CHOWN" }, field(out, "CapInh"))
    -- after execve a non-root process has its ambient set as permitted and effective
    for _, s in ipairs { "CapAmb", "CapPrm", "CapEff" } do
      assert.are.equal(caps_mask { "CAP_NET_BIND_SERVICE" }, field(out, s), s)
    end
  end)

  it("writes namespaced sysctls, oom_score_adj, the domain name and the personality", function()
    local c = load("ctr-1.6.20-oci-spec.json")
    c.linux.sysctl = { ["net.ipv4.ping_group_range"] = "0 2147483647", ["kernel.shmmni"] = "3000",
                       ["net/ipv4/ip_unprivileged_port_start"] = "80" }
    c.process.oomScoreAdj = 500
    c.domainname = "sbx.example"
    c.hostname = "fields"
    c.linux.personality = { domain = "LINUX32" }
    local d = bundle(c, "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shmmni "
      .. "/proc/sys/net/ipv4/ip_unprivileged_port_start /proc/$$/oom_score_adj /proc/sys/kernel/domainname; "
      .. "hostname; uname -m; echo x > /proc/sys/kernel/shmmni")
    local host_before = H.read("/proc/sys/net/ipv4/ping_group_range")
    local out, rc = run(d, "sysctl-" .. H.core.getpid())
    assert.truthy(out:find("^0%s+2147483647\n3000\n80\n500\nsbx%.example\nfields\ni686\n"), out)
    -- /proc/sys stays read-only for the command (linux.readonlyPaths)
    assert.truthy(out:find("Read%-only file system"), out)
    assert.are.equal(1, rc, out)
    -- the host's own values are untouched
    assert.are.equal(host_before, H.read("/proc/sys/net/ipv4/ping_group_range"))
    assert.are_not.equal("sbx.example\n", H.read("/proc/sys/kernel/domainname"))
  end)
end)
