-- podman with sandboxlua as its OCI runtime (issue 12): `podman --runtime
-- build/sandboxlua-oci`, conmon in between, the busybox rootfs as an image
-- imported offline.  What podman reports is checked against the kernel:
-- the container's init in /proc (its namespaces, its cgroup, its binary),
-- the cgroup's files.  See spec/support/podman.lua for the flags every
-- container gets.
--
-- On this host: busted --tags=podman --exclude-tags=cgroup spec/podman_spec.lua
-- The OOM case (#cgroup) runs in the cgroup-v2 VM, see doc/oci.md.
local H = require "spec.support.helper"
local PM = require "spec.support.podman"

local read, exists, trim = PM.read, H.exists, H.trim
local function gone(pid) return not H.alive(pid) end
local function wait_for(fn, secs) return H.wait_for(fn, secs or 10) end

local function ns(pid, kind)
  local out = H.sh(("readlink /proc/%s/ns/%s"):format(tostring(pid), kind))
  return (out:gsub("%s+$", ""))
end

-- bit of a /proc/PID/status mask (CapBnd, SigIgn)
local function cap_bit(mask_hex, bit)
  return (tonumber(mask_hex, 16) >> bit) & 1 == 1
end

-- the podman instance: started by the first spec that needs it
local pm
local function podman()
  if not pm then pm = assert(PM.start()) end
  return pm
end

-- the pids of a cgroup once the command runs beside init (start returns
-- when init has its byte, before it forks the command): n of them
local function procs_of(cg, n)
  local procs
  wait_for(function()
    procs = {}
    for q in (read(cg .. "/cgroup.procs") or ""):gmatch("%d+") do procs[#procs + 1] = q end
    return #procs >= n
  end)
  return procs
end

-- a network namespace of its own (ip netns add), deleted after the spec
-- a named netns for one spec, removed after it: its name and its
-- /proc/*/ns/net link as a process in it reads it
local function netns_for_spec(prefix)
  local name = prefix .. H.core.getpid()
  assert.are.equal(0, select(2, H.sh("ip netns add " .. name)))
  finally(function() H.sh("ip netns delete " .. name) end)
  return name, trim(H.sh("ip netns exec " .. name .. " readlink /proc/self/ns/net"))
end

describe("podman with sandboxlua as its runtime #podman", function()
  teardown(function()
    if pm then pm:stop() end
  end)

  it("run --rm passes stdin, stdout and stderr, exits with the command's status, leaves nothing", function()
    local p = podman()
    local input = p.dir .. "/stdin"
    H.write(input, "line 1\nline 2\n")
    -- stdout and stderr are two pipes from conmon (podman 4.3 writes
    -- both to its stdout, in the order they come)
    local out, rc = p:podman(("run -i --rm %s %s sh -c 'echo hi; cat; echo err >&2; "
      .. "readlink /proc/self/fd/1; readlink /proc/self/fd/2'"):format(p:flags(), p.image), { stdin = input })
    assert.are.equal(0, rc, out)
    local rest, n = out:gsub("err\n", "", 1)
    assert.are.equal(1, n, out)
    local p1, p2 = rest:match("^hi\nline 1\nline 2\npipe:%[(%d+)%]\npipe:%[(%d+)%]\n$")
    assert.truthy(p1 and p1 ~= p2, out)
    out, rc = p:podman(("run --rm %s %s sh -c 'exit 7'"):format(p:flags(), p.image))
    assert.are.equal(7, rc, out)
    assert.are.equal("", out)
    -- by name, through containers.conf's [engine.runtimes] sandboxlua = [path]
    out, rc = p:podman(("run --rm %s %s cat /proc/1/comm"):format(p:flags(), p.image), { runtime = "sandboxlua" })
    assert.are.equal(0, rc, out)
    assert.are.equal("sbx-init\n", out)
    -- the mount points sandboxlua made in the image's rootfs (busybox has
    -- no /etc/hosts), podman's files bound there
    out, rc = p:podman(("run --rm %s %s cat /etc/hosts /run/.containerenv /proc/self/mountinfo")
      :format(p:flags(), p.image))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("127.0.0.1", 1, true), out)
    assert.truthy(out:find(" /etc/hosts rw,nosuid,nodev", 1, true), out)
    assert.are.equal("", trim(p:podman("ps -aq")))
    -- no container's cgroup left below podman's parent
    local left = H.sh(("ls %s%s 2>/dev/null | grep '^libpod-'"):format(H.core.cgroup_mountpoint(), p.parent))
    assert.are.equal("", left)
  end)

  it("--read-only and --tmpfs: a read-only root, tmpfs mounts holding what the image had there (tmpcopyup)", function()
    local p = podman()
    local out, rc = p:podman(("run --rm --read-only --tmpfs /etc %s %s sh -c "
      .. "'head -1 /etc/passwd; touch /etc/a /tmp/b /run/c && echo written; touch /x; "
      .. "grep -E \" /(etc|tmp) \" /proc/self/mountinfo'"):format(p:flags(), p.image))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^root:x:0:0:root:/root:/bin/sh\nwritten\n"), out)
    assert.truthy(out:find("touch: /x: Read-only file system", 1, true), out)
    assert.truthy(out:find(" /etc rw,nosuid,nodev[^\n]* %- tmpfs "), out)
    assert.truthy(out:find(" /tmp rw,nosuid,nodev[^\n]* %- tmpfs "), out)
  end)

  it("--user, --sysctl and --cap-add: podman's five capability sets and a namespaced sysctl, as the kernel holds them", function()
    local p = podman()
    local out, rc = p:podman(("run --rm --user 1000:1000 --sysctl net.ipv4.ip_unprivileged_port_start=80 %s %s "
      .. "sh -c 'id -u; id -g; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; "
      .. "grep -E \"^Cap(Inh|Prm|Eff|Amb)\" /proc/self/status'"):format(p:flags(), p.image))
    assert.are.equal(0, rc, out)
    -- a non-root user: podman leaves it empty effective and permitted sets
    assert.are.equal("1000\n1000\n80\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
      .. "CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n", out)
    -- the host's own value is untouched (the sysctl is the container's net namespace's)
    assert.are_not.equal("80\n", read("/proc/sys/net/ipv4/ip_unprivileged_port_start"))
    out, rc = p:podman(("run --rm --cap-drop all --cap-add net_raw %s %s grep -E \"^Cap(Eff|Bnd)\" /proc/self/status")
      :format(p:flags(), p.image))
    assert.are.equal(0, rc, out)
    assert.are.equal("CapEff:\t0000000000002000\nCapBnd:\t0000000000002000\n", out)
  end)

  it("run -d: podman's pid is sandboxlua's init, in the namespaces and cgroup it made, running the command", function()
    local p = podman()
    local id, rc = p:podman(("run -d %s %s sleep 100"):format(p:flags(), p.image))
    assert.are.equal(0, rc, id)
    id = trim(id)
    assert.truthy(id:match("^%x+$"), id)
    local pid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. id))
    assert.truthy(pid:match("^%d+$"), pid)
    assert.are.equal("running", trim(p:podman("inspect -f '{{.State.Status}}' " .. id)))
    local status = assert(read("/proc/" .. pid .. "/status"))
    -- pid 1 of a pid namespace of its own; not a host binary (sbx-init
    -- runs from a sealed memfd)
    assert.truthy(status:match("NSpid:%s+" .. pid .. "%s+1\n"), status)
    local exe = trim(H.sh("readlink /proc/" .. pid .. "/exe"))
    assert.truthy(exe:match("^/memfd:"), exe)
    -- its cgroup: the path podman asked for, holding init and the command
    local cg = p:cgroup_of(id)
    local procs = procs_of(cg, 2)
    assert.are.equal(2, #procs, cg)
    assert.truthy((read("/proc/" .. pid .. "/cgroup") or ""):find("0::" .. p.parent .. "/libpod-" .. id .. "\n", 1, true))
    local cmd = procs[1] == pid and procs[2] or procs[1]
    -- (forked by init, then exec'd: wait for the exec)
    assert.is_true(wait_for(function() return read("/proc/" .. cmd .. "/comm") == "sleep\n" end))
    local cstatus = assert(read("/proc/" .. cmd .. "/status"))
    assert.truthy(cstatus:match("Name:%s+sleep\n"), cstatus)
    assert.truthy(cstatus:match("PPid:%s+" .. pid .. "\n"), cstatus)
    assert.truthy(cstatus:match("NoNewPrivs:%s+1\n"), cstatus)
    -- podman's default seccomp profile (argument conditions, ENOSYS) is
    -- loaded: one filter on the command
    assert.truthy(cstatus:match("Seccomp:%s+2\n"), cstatus)
    assert.truthy(cstatus:match("Seccomp_filters:%s+1\n"), cstatus)
    -- podman's default capabilities: CAP_CHOWN (0) kept, CAP_SYS_ADMIN (21) not
    local bnd = cstatus:match("CapBnd:%s+(%x+)")
    assert.is_true(cap_bit(bnd, 0), bnd)
    assert.is_false(cap_bit(bnd, 21), bnd)
    for _, k in ipairs { "pid", "mnt", "uts", "ipc", "net" } do
      assert.are_not.equal(ns("self", k), ns(pid, k), k)
      assert.are.equal(ns(pid, k), ns(cmd, k), k)
    end
    -- the host name podman chose, in the uts namespace sandboxlua made
    local want = trim(p:podman("inspect -f '{{.Config.Hostname}}' " .. id))
    assert.are.equal(want, trim(H.sh("nsenter -t " .. cmd .. " -u hostname")))
    assert.are_not.equal(want, trim(H.sh("hostname")))
    local out
    out, rc = p:rm("-f -t 0 " .. id)
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return gone(pid) and gone(cmd) and not exists(cg) end))
  end)

  it("--uidmap 0:100000:65536: the container's root is uid 100000 on the host, in a user namespace of its own", function()
    local p = podman()
    local map = "--uidmap 0:100000:65536 --gidmap 0:100000:65536"
    local id, rc = p:podman(("run -d %s %s %s sleep 100"):format(map, p:flags(), p.image))
    assert.are.equal(0, rc, id)
    id = trim(id)
    local pid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. id))
    assert.truthy(read("/proc/" .. pid .. "/uid_map"):match("^%s+0%s+100000%s+65536\n$"))
    assert.truthy(read("/proc/" .. pid .. "/gid_map"):match("^%s+0%s+100000%s+65536\n$"))
    assert.are_not.equal(ns("self", "user"), ns(pid, "user"))
    local cg = p:cgroup_of(id)
    local procs = procs_of(cg, 2)
    local cmd = procs[1] == pid and procs[2] or procs[1]
    assert.is_true(wait_for(function() return read("/proc/" .. cmd .. "/comm") == "sleep\n" end))
    assert.truthy(read("/proc/" .. cmd .. "/status"):match("\nUid:\t100000\t100000\t100000\t100000\n"))
    -- inside: root, and the host name podman chose
    local out
    out, rc = p:podman(("run --rm %s %s %s sh -c 'id -u; hostname; touch /x && echo root-writes'")
      :format(map, p:flags(), p.image))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^0\n%x+\nroot%-writes\n$"), out)
    out, rc = p:rm("-f -t 0 " .. id)
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return gone(pid) and gone(cmd) and not exists(cg) end))
  end)

  it("stop -t 2 of a command that ignores SIGTERM: kill 15, then 9 after 2 s; exit 137, nothing left", function()
    local p = podman()
    local id, rc = p:podman(("run -d %s %s sh -c 'trap \"\" TERM; sleep 100'"):format(p:flags(), p.image))
    assert.are.equal(0, rc, id)
    id = trim(id)
    local pid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. id))
    local cg = p:cgroup_of(id)
    -- every process of the container but init ignores SIGTERM (SigIgn
    -- bit 14): only the SIGKILL podman sends after -t 2 ends it
    -- (sleep runs once the trap is set: wait for it)
    local n, sleeping = 0, false
    assert.is_true(wait_for(function()
      for _, q in ipairs(procs_of(cg, 2)) do
        if (read("/proc/" .. q .. "/comm") or "") == "sleep\n" then sleeping = true end
      end
      return sleeping
    end))
    for _, q in ipairs(procs_of(cg, 2)) do
      if q ~= pid then
        n = n + 1
        local ign = read("/proc/" .. q .. "/status"):match("SigIgn:%s+(%x+)")
        assert.is_true(cap_bit(ign, 14), ign)
      end
    end
    assert.is_true(n >= 1)
    local out
    out, rc = p:podman("stop -t 2 " .. id)
    assert.are.equal(0, rc, out)
    assert.are.equal("137", trim(p:podman("inspect -f '{{.State.ExitCode}}' " .. id)))
    assert.are.equal("exited", trim(p:podman("inspect -f '{{.State.Status}}' " .. id)))
    assert.is_true(gone(pid))
    assert.is_true(wait_for(function() return not exists(cg) end))
    out, rc = p:rm(id)
    assert.are.equal(0, rc, out)
  end)

  it("pause and unpause: podman's status and the cgroup's frozen state", function()
    local p = podman()
    local id, rc = p:podman(("run -d %s %s sleep 100"):format(p:flags(), p.image))
    assert.are.equal(0, rc, id)
    id = trim(id)
    local cg = p:cgroup_of(id)
    local out
    out, rc = p:podman("pause " .. id)
    assert.are.equal(0, rc, out)
    assert.truthy(read(cg .. "/cgroup.events"):find("frozen 1", 1, true))
    assert.are.equal("paused", trim(p:podman("inspect -f '{{.State.Status}}' " .. id)))
    out, rc = p:podman("unpause " .. id)
    assert.are.equal(0, rc, out)
    assert.truthy(read(cg .. "/cgroup.events"):find("frozen 0", 1, true))
    assert.are.equal("running", trim(p:podman("inspect -f '{{.State.Status}}' " .. id)))
    out, rc = p:rm("-f -t 0 " .. id)
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return not exists(cg) end))
  end)

  it("a site policy, given by a runtime wrapper, refuses --privileged with its own message", function()
    local p = podman()
    local state = p.dir .. "/policy-state"
    local pol = p.dir .. "/policy.lua"
    H.write(pol, table.concat({
      "return function(config, recipe, refusal)",
      "  for _, c in ipairs(config.process.capabilities.bounding or {}) do",
      "    if c == 'CAP_SYS_ADMIN' then return nil, 'site policy (spec): no privileged containers here' end",
      "  end",
      "  return recipe, refusal",
      "end", "" }, "\n"))
    local rt = p:wrapper("sandboxlua-policy", ("--root %s --policy %s"):format(state, pol))
    local out, rc = p:podman(("run --rm %s --privileged %s echo hi"):format(p:flags(), p.image), { runtime = rt })
    assert.are.equal(126, rc, out)
    assert.truthy(out:find("sandboxlua oci: site policy (spec): no privileged containers here", 1, true), out)
    -- the same runtime runs an ordinary container, and every call (the
    -- cleanup's delete too) used its state root: nothing left there
    out, rc = p:podman(("run --rm %s %s echo hi"):format(p:flags(), p.image), { runtime = rt })
    assert.are.equal(0, rc, out)
    assert.are.equal("hi\n", out)
    assert.are.equal("", H.sh("ls -A " .. state))
    assert.are.equal("", trim(p:podman("ps -aq")))
  end)

  it("run -d + exec + stop: exec runs in the container's namespaces and cgroup, with its status", function()
    local p = podman()
    local id, rc = p:podman(("run -d %s %s sleep 100"):format(p:flags(), p.image))
    assert.are.equal(0, rc, id)
    id = trim(id)
    local pid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. id))
    -- podman: exec --pid-file P --process FILE --detach ID
    local out
    out, rc = p:podman("exec " .. id .. " sh -c 'readlink /proc/self/ns/pid; exit 5'")
    assert.are.equal(5, rc, out)
    assert.are.equal(trim(H.sh("readlink /proc/" .. pid .. "/ns/pid")), trim(out))
    out, rc = p:podman("exec " .. id .. " cat /proc/self/cgroup")
    assert.are.equal(0, rc, out)
    assert.truthy(out:find(p.parent .. "/libpod-" .. id, 1, true) or out:find("0::/\n", 1, true), out)
    out, rc = p:podman("stop -t 2 " .. id)
    assert.are.equal(0, rc, out)
    assert.are.equal("143", trim(p:podman("inspect -f '{{.State.ExitCode}}' " .. id)))
    p:rm(id)
  end)

  it("run --preserve-fds 1: podman's fd 3 reaches the command through conmon and the runtime, and only with the flag", function()
    local p = podman()
    H.write(p.dir .. "/in", "passed\n")
    local probe = "sh -c 'cat 2>/dev/null <&3; stat -L -c %i /proc/self/fd/3 2>/dev/null; exec ls /proc/self/fd'"
    local out, rc = p:podman(("run --rm --preserve-fds 1 %s %s %s 3<%s/in"):format(p:flags(), p.image, probe, p.dir))
    assert.are.equal(0, rc, out)
    assert.are.equal("passed\n" .. H.inode(p.dir .. "/in") .. "\n0\n1\n2\n3\n4\n", out)
    out, rc = p:podman(("run --rm %s %s %s 3<%s/in"):format(p:flags(), p.image, probe, p.dir))
    assert.are.equal(0, rc, out)
    assert.are.equal("0\n1\n2\n3\n", out)
  end)

  it("run -it through a pty (script): a terminal, job control, the shell's exit status", function()
    local p = podman()
    local f = p.dir .. "/tty-in"
    H.write(f, "tty\nsleep 30 &\njobs\nkill %1\nwait\nexit 3\n")
    local out, rc = H.sh(("cd %s && script -qec \"CONTAINERS_CONF=%s podman --root %s/root --runroot %s/runroot "
      .. "--tmpdir %s/tmp --runtime %s run -it --rm %s %s sh\" /dev/null < %s")
      :format(p.dir, p.conf, p.dir, p.dir, p.dir, PM.RUNTIME, p:flags(), p.image, f))
    assert.are.equal(3, rc, out)
    assert.truthy(out:find("/dev/pts/0", 1, true), out)
    assert.truthy(out:find("[1]+  Running", 1, true), out)
  end)

  it("a network namespace joined by path (a pod's), with podman's default seccomp profile and a sysctl written in it", function()
    local p = podman()
    local netns, want = netns_for_spec("sbxspec-")
    local out, rc = p:podman(("run --rm %s --network ns:/run/netns/%s --sysctl net.ipv4.ip_unprivileged_port_start=79 %s "
      .. "sh -c 'grep Seccomp: /proc/self/status; readlink /proc/self/ns/net'"):format(p:base_flags(), netns, p.image))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("Seccomp:\t2", 1, true), out)
    assert.truthy(out:find(want, 1, true), out)
    assert.are.equal("79\n", H.sh("ip netns exec " .. netns .. " cat /proc/sys/net/ipv4/ip_unprivileged_port_start"))
    assert.are_not.equal("79\n", read("/proc/sys/net/ipv4/ip_unprivileged_port_start"))
  end)

  it("a pod: its members join the infra container's net, ipc and uts namespaces by path, each with its own pid namespace", function()
    local p = podman()
    local name = "sbxpod" .. H.core.getpid()
    local out, rc = p:podman(("pod create --name %s --cgroup-parent %s"):format(name, p.parent))
    assert.are.equal(0, rc, out)
    finally(function() p:podman("pod rm -f -t 0 " .. name) end)
    local id
    id, rc = p:podman(("run -d --pod %s %s sleep 100"):format(name, p.image))
    assert.are.equal(0, rc, id)
    local infra = trim(p:podman("pod inspect -f '{{.InfraContainerID}}' " .. name))
    local ipid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. infra))
    local mpid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. trim(id)))
    assert.truthy(ipid:match("^%d+$") and mpid:match("^%d+$"), ipid .. " " .. mpid)
    for _, k in ipairs { "net", "ipc", "uts" } do
      assert.are.equal(ns(ipid, k), ns(mpid, k), k)
      assert.are_not.equal(ns("self", k), ns(mpid, k), k)
    end
    assert.are_not.equal(ns(ipid, "pid"), ns(mpid, "pid"))
    assert.are.equal("sbx-init\n", read("/proc/" .. mpid .. "/comm"))
    -- the pod's name is the members' host name
    out, rc = p:podman(("run --rm --pod %s %s hostname"):format(name, p.image))
    assert.are.equal(0, rc, out)
    assert.are.equal(name .. "\n", out)
    out, rc = p:podman("pod rm -f -t 0 " .. name)
    assert.are.equal(0, rc, out)
    assert.is_true(wait_for(function() return gone(ipid) and gone(mpid) end))
  end)

  it("--pid container:X: the pid namespace of another container's, joined by path; the rm leaves X running", function()
    local p = podman()
    local a, rc = p:podman(("run -d %s %s sleep 100"):format(p:flags(), p.image))
    assert.are.equal(0, rc, a)
    a = trim(a)
    finally(function() p:rm("-f -t 0 " .. a) end)
    local apid = trim(p:podman("inspect -f '{{.State.Pid}}' " .. a))
    local out
    out, rc = p:podman(("run --rm --pid container:%s %s %s sh -c 'readlink /proc/self/ns/pid; ps -o pid,comm'")
      :format(a, p:flags(), p.image))
    assert.are.equal(0, rc, out)
    assert.are.equal(ns(apid, "pid"), out:match("^([^\n]+)\n"))
    -- X's init is that namespace's pid 1, its sleep beside it
    assert.truthy(out:find("\n%s+1 sbx%-init\n"), out)
    assert.truthy(out:find("\n%s+%d+ sleep\n"), out)
    assert.is_true(H.alive(apid))
    assert.are.equal("running", trim(p:podman("inspect -f '{{.State.Status}}' " .. a)))
  end)

  it("--uidmap with a network namespace joined by path: the container's root is 100000, in that netns", function()
    local p = podman()
    local netns, want = netns_for_spec("sbxspecu-")
    local out, rc = p:podman(("run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 %s --network ns:/run/netns/%s "
      .. "%s sh -c 'readlink /proc/self/ns/net; cat /proc/self/uid_map; id -u'"):format(p:base_flags(), netns, p.image))
    assert.are.equal(0, rc, out)
    assert.truthy(out:match("^" .. want:gsub("%p", "%%%0") .. "\n%s*0%s+100000%s+65536\n0\n$"), out)
  end)
end)

describe("podman in the cgroup-v2 VM #podman #cgroup", function()
  local vm
  teardown(function()
    if vm then vm:stop() end
  end)

  it("run --rm --memory 64m of a memory hog: OOM-killed in its cgroup, exit 137, conmon's oom file", function()
    vm = assert(PM.start())
    local events = H.core.cgroup_mountpoint() .. vm.parent .. "/memory.events"
    local out, rc = vm:podman(("run --rm --memory 64m %s %s tail /dev/zero"):format(vm:flags(), vm.image))
    assert.are.equal(137, rc, out)
    -- the kernel's count, in podman's parent (memory.events is
    -- hierarchical, and outlives the container's own cgroup)
    local n = tonumber((read(events) or ""):match("oom_kill (%d+)"))
    assert.truthy(n and n >= 1, read(events))
    -- conmon saw it in the container's cgroup (the one sandboxlua made
    -- at podman's cgroupsPath) and wrote its oom file, in its working
    -- directory (podman's: podman 4.3.1 then looks for it in the bundle,
    -- so its inspect says OOMKilled false with runc too)
    assert.is_true(exists(vm.dir .. "/oom"))
  end)
end)
