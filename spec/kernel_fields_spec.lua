-- Recipe fields for what OCI configs ask of the kernel: seccomp's rules
-- form (argument conditions, any errno, every action, filter flags, more
-- ABIs), the five capability sets, sysctl, oom_score_adj, domainname,
-- personality and no_new_privs = false.  Each is checked in the kernel's
-- view from inside the jail (/proc/PID/status, /proc/sys, the result's
-- signal), and each misuse is a recipe error naming the field.
local H = require "spec.support.helper"
local sb = H.sb

local function job(argv, extra)
  local res = sb.run(H.job(argv, extra))
  return res, (res.stdout or "") .. (res.stderr or "")
end

local function sh(cmd, extra) return job({ "/bin/sh", "-c", cmd }, extra) end

local function field(out, f) return out:match("\n" .. f .. ":%s*([^\n]*)") or out:match("^" .. f .. ":%s*([^\n]*)") end

local function allow_with(rules, more)
  local s = { default = "allow", rules = rules }
  for k, v in pairs(more or {}) do s[k] = v end
  return { seccomp = s }
end

describe("recipe seccomp rules", function()
  it("honours an argument condition: the query persona passes, another gets the rule's errno", function()
    local res, out = sh("/mnt/hog call personality 0xffffffff; /mnt/hog call personality 0x40000; "
      .. "grep -E '^Seccomp' /proc/$$/status", allow_with {
        { "personality", action = "errno", errno = "EINVAL", args = { { 0, "!=", 0xffffffff } } } })
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find("^personality ret=%d+ errno=0\npersonality ret=%-1 errno=22\n"), out)
    assert.are.equal("2", field(out, "Seccomp"))
    assert.are.equal("1", field(out, "Seccomp_filters"))
  end)

  it("ANDs conditions on distinct arguments and ORs two on the same one (as runc)", function()
    local res, out = sh("/mnt/hog call socket 16 3 9; /mnt/hog call socket 16 3 0; /mnt/hog call socket 1 1 0; "
      .. "/mnt/hog call personality 1; /mnt/hog call personality 2; /mnt/hog call personality 0", allow_with {
        { "socket", action = "errno", errno = 97, args = { { 0, "==", 16 }, { 2, "==", 9 } } },
        { names = { "personality" }, action = "errno", errno = 33, args = { { 0, "==", 1 }, { 0, "==", 2 } } } })
    assert.are.equal("exited", res.status, out)
    local l = {}
    for x in out:gmatch("[^\n]+") do l[#l + 1] = x end
    assert.are.equal("socket ret=-1 errno=97", l[1])          -- netlink audit: both match
    assert.truthy(l[2]:match("^socket ret=%d+ errno=0$"), out) -- netlink route
    assert.truthy(l[3]:match("^socket ret=%d+ errno=0$"), out) -- unix
    assert.are.equal("personality ret=-1 errno=33", l[4])
    assert.are.equal("personality ret=-1 errno=33", l[5])
    assert.truthy(l[6]:match("^personality ret=%d+ errno=0$"), out)
  end)

  it("a masked comparison: the low byte of the flags decides", function()
    local res, out = sh("/mnt/hog call socket 40 1 0; /mnt/hog call socket 0x1028 1 0", allow_with {
      { "socket", action = "errno", errno = "EPERM", args = { { 0, "&=", 0xff, 40 } } } })
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find("^socket ret=%-1 errno=1\nsocket ret=%-1 errno=1\n"), out)
  end)

  it("kills with SIGSYS (kill, kill_thread, trap), lets log through, and trace without a tracer is ENOSYS", function()
    for _, a in ipairs { "kill", "kill_process", "kill_thread", "trap" } do
      local res, out = job({ "/mnt/hog", "call", "vhangup" }, allow_with { { "vhangup", action = a } })
      assert.are.equal("signaled", res.status, a .. ": " .. out)
      assert.are.equal("SIGSYS", res.signal, a)
    end
    local res, out = job({ "/mnt/hog", "call", "getppid" }, allow_with { { "getppid", action = "log" } })
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find("^getppid ret=%d+ errno=0\n"), out)
    res, out = job({ "/mnt/hog", "call", "getppid" }, allow_with { { "getppid", action = "trace", value = 7 } })
    assert.truthy(out:find("^getppid ret=%-1 errno=38\n"), out)
  end)

  it("adds the ABIs listed (the 32-bit getpid runs), and kills the others", function()
    local res, out = job({ "/mnt/hog", "try", "int80" }, allow_with({}, { architectures = { "x86" } }))
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find("int80 ok", 1, true), out)
    res = job({ "/mnt/hog", "try", "int80" }, allow_with({}))
    assert.are.equal("signaled", res.status)
    assert.are.equal("SIGSYS", res.signal)
  end)

  it("loads the filter with its flags: log makes the kernel log an errno action", function()
    local name = ("lg%d%d"):format(H.core.getpid() % 100000, math.random(1000, 9999))
    local function logged()
      local p = io.popen("dmesg 2>/dev/null | grep -c 'type=1326.*comm=\"" .. name .. "\".*syscall=153 '")
      local c = tonumber(p:read("a")) or 0
      p:close()
      return c
    end
    local function try(flags)
      local res, out = sh(("ln -s /mnt/hog /tmp/%s && /tmp/%s call vhangup"):format(name, name),
        { seccomp = { default = "allow", flags = flags, rules = { { "vhangup", action = "errno", errno = 5 } } },
          mounts = { { "tmpfs", "/tmp" }, { "bind", H.root .. "/build/spec", "/mnt", ro = true } } })
      assert.truthy(out:find("vhangup ret=-1 errno=5", 1, true), out)
      return res
    end
    try(nil)
    assert.are.equal(0, logged())
    -- the kernel prints 10 audit records in 5 s (printk_ratelimit), and
    -- the kills just before (and other spec files') spend them: a fresh
    -- window for this one
    os.execute("sleep 5.1")
    try({ "log", "tsync" })
    local seen = false
    for _ = 1, 100 do -- the audit record goes through kauditd
      if logged() > 0 then seen = true break end
      H.core.sleep(0.05)
    end
    assert.is_true(seen, "no audit record for " .. name)
  end)

  it("refuses what is not a rule, naming it", function()
    local function err(sc) return H.recipe_error(H.bb("true", { seccomp = sc })) end
    assert.are.equal('recipe.seccomp.rules[1].action: expected "allow", "errno", "kill" (the process), "kill_thread", "trap", "log" or "trace", got "deny"',
      err { rules = { { "getpid", action = "deny" } } })
    assert.are.equal("recipe.seccomp.rules[1].action: notify needs a seccomp listener (a user-space supervisor), which sandboxlua does not have",
      err { rules = { { "getpid", action = "notify" } } })
    assert.are.equal("recipe.seccomp.rules[1].args[1][1]: expected an argument from 0 to 5, got 6",
      err { rules = { { "getpid", action = "allow", args = { { 6, "==", 0 } } } } })
    assert.are.equal('recipe.seccomp.rules[1].args[1][2]: expected one of ==, !=, <, <=, >, >=, &= (masked), got "=~"',
      err { rules = { { "getpid", action = "allow", args = { { 0, "=~", 0 } } } } })
    assert.are.equal('recipe.seccomp.rules[1].errno: expected an errno: a number from 0 to 4095 or a name like "EPERM", got "EWHATEVER"',
      err { rules = { { "getpid", action = "errno", errno = "EWHATEVER" } } })
    assert.are.equal('recipe.seccomp.rules[1].errno: goes with action = "errno"',
      err { rules = { { "getpid", action = "allow", errno = 1 } } })
    assert.are.equal("recipe.seccomp.allow: goes with the list form; with rules, each call is a rule of its own",
      err { rules = {}, allow = { "getpid" } })
    assert.are.equal("recipe.seccomp.default_errno: goes with rules (the rules form)",
      err { default = "errno", default_errno = 38 })
    assert.are.equal('recipe.seccomp.flags[1]: expected "log", "spec_allow", "tsync" or "tsync_esrch", got "new_listener"',
      err { rules = {}, flags = { "new_listener" } })
    -- what libseccomp knows is checked at compile
    assert.truthy(err { rules = { { "no_such_call", action = "errno" } } }
      :find('recipe.seccomp: rules[1]: unknown syscall "no_such_call"', 1, true))
    assert.truthy(err { rules = {}, architectures = { "vax" } }:find('unknown architecture "vax"', 1, true))
  end)
end)

describe("recipe capabilities as five sets", function()
  -- bits: chown 0, kill 5, net_bind_service 10, net_raw 13
  it("gives root each set as given (with no_new_privs, exec keeps root's permitted set; effective = it)", function()
    local res, out = sh("grep -E '^Cap' /proc/$$/status", { capabilities = {
      bounding = { "kill", "net_bind_service", "chown" }, permitted = { "kill", "net_bind_service" },
      effective = { "kill" }, inheritable = { "net_bind_service" }, ambient = { "net_bind_service" } } })
    assert.are.equal("exited", res.status, out)
    assert.are.equal("0000000000000421", field(out, "CapBnd"))
    assert.are.equal("0000000000000400", field(out, "CapInh"))
    assert.are.equal("0000000000000400", field(out, "CapAmb"))
    -- root's exec would raise permitted to bounding + inheritable, but
    -- no_new_privs holds it to what it had: kill and net_bind_service
    assert.are.equal("0000000000000420", field(out, "CapPrm"))
    assert.are.equal("0000000000000420", field(out, "CapEff"))
  end)

  it("gives a non-root user its ambient set across exec, and the rest as given", function()
    local res, out = sh("id -u; grep -E '^Cap' /proc/$$/status", { user = 1000, capabilities = {
      bounding = { "kill", "net_bind_service", "net_raw" }, permitted = { "kill", "net_bind_service", "net_raw" },
      effective = { "kill" }, inheritable = { "net_bind_service", "net_raw" }, ambient = { "net_raw" } } })
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find("^1000\n"), out)
    assert.are.equal("0000000000002420", field(out, "CapBnd"))
    assert.are.equal("0000000000002400", field(out, "CapInh"))
    assert.are.equal("0000000000002000", field(out, "CapAmb"))
    assert.are.equal("0000000000002000", field(out, "CapPrm"))
    assert.are.equal("0000000000002000", field(out, "CapEff"))
  end)

  it("refuses sets the kernel would refuse", function()
    local function err(c) return H.recipe_error(H.bb("true", { capabilities = c })) end
    assert.are.equal("recipe.capabilities.effective: kill is not in permitted: the effective set is part of the permitted one",
      err { bounding = { "kill" }, effective = { "kill" } })
    assert.are.equal("recipe.capabilities.ambient: kill is not in permitted and inheritable: an ambient capability must be permitted and inheritable",
      err { bounding = { "kill" }, permitted = { "kill" }, ambient = { "kill" } })
    assert.are.equal("recipe.capabilities.inheritable: kill is not in bounding: the kernel takes into the inheritable set only what the bounding set holds",
      err { inheritable = { "kill" } })
    assert.truthy(err { bounding = { "kill" }, effetcive = { "kill" } }:find("recipe.capabilities.effetcive: unknown field", 1, true))
  end)
end)

describe("recipe kernel settings", function()
  it("writes namespaced sysctls in the jail's namespaces, not the host's", function()
    local before = H.read("/proc/sys/net/ipv4/ping_group_range")
    local host = H.read("/proc/sys/kernel/msgmax") .. H.read("/proc/sys/fs/mqueue/msg_max")
    local res, out = sh("cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/msgmax /proc/sys/fs/mqueue/msg_max",
      { sysctl = { ["net.ipv4.ping_group_range"] = "0 2147483647", ["kernel.msgmax"] = 4096,
                   ["fs/mqueue/msg_max"] = "20" } })
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find("^0%s+2147483647\n4096\n20\n$"), out)
    assert.are.equal(before, H.read("/proc/sys/net/ipv4/ping_group_range"))
    assert.are.equal(host, H.read("/proc/sys/kernel/msgmax") .. H.read("/proc/sys/fs/mqueue/msg_max"))
  end)

  it("sets oom_score_adj, the NIS domain name and the personality for the command", function()
    local res, out = sh("cat /proc/$$/oom_score_adj /proc/sys/kernel/domainname; uname -m",
      { oom_score_adj = 317, domainname = "nis.example", personality = "linux32" })
    assert.are.equal("exited", res.status, out)
    assert.are.equal("317\nnis.example\ni686\n", out)
  end)

  it("sizes the jail's /dev and gives its devpts a group, as the mount table shows", function()
    local res, out = sh("grep -E ' /dev(/pts)? ' /proc/mounts", { dev = { size = "1m", mode = "0750", pts_gid = 5, pts_mode = "0600" } })
    assert.are.equal("exited", res.status, out)
    assert.truthy(out:find(" /dev tmpfs [^\n]*size=1024k,mode=750"), out)
    assert.truthy(out:find(" /dev/pts devpts [^\n]*gid=5,mode=600,ptmxmode=666"), out)
    assert.are.equal('recipe.dev.pts_mode: expected permission bits like "0620", got "4755"',
      H.recipe_error(H.bb("true", { dev = { pts_mode = "4755" } })))
    assert.truthy(H.recipe_error(H.bb("true", { dev = { sise = "1m" } })):find("recipe.dev.sise: unknown field", 1, true))
  end)

  it("turns no_new_privs off only where no seccomp filter needs it", function()
    local res, out = sh("grep NoNewPrivs /proc/$$/status", { no_new_privs = false, seccomp = false })
    assert.are.equal("exited", res.status, out)
    assert.are.equal("0", field(out, "NoNewPrivs"))
    assert.are.equal("recipe.no_new_privs: false needs seccomp = false or sys_admin kept (effective): the kernel "
      .. "loads a seccomp filter without no_new_privs only for CAP_SYS_ADMIN",
      H.recipe_error(H.bb("true", { no_new_privs = false })))
  end)

  it("works from a rootless host too: sysctls, the five sets and the rules form in a user namespace", function()
    local f = H.recipe_file(([[
      return { rootfs = %q, command = { "/bin/sh", "-c", %q }, cgroup = false, domainname = "rl.example",
               mounts = { { "bind", %q, "/mnt", ro = true } }, oom_score_adj = 700,
               sysctl = { ["net.ipv4.ping_group_range"] = "0 0", ["kernel.shmmni"] = "1234" },
               capabilities = { bounding = { "kill", "chown" }, permitted = { "kill" }, effective = { "kill" } },
               seccomp = { default = "allow", rules = { { "personality", action = "errno", errno = 77,
                                                         args = { { 0, "==", 0x40000 } } } } } }
    ]]):format(H.busybox, "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shmmni /proc/$$/oom_score_adj "
      .. "/proc/sys/kernel/domainname; grep -E '^Cap(Bnd|Prm|Inh)' /proc/$$/status; /mnt/hog call personality 0x40000",
      H.root .. "/build/spec"))
    local out, rc = H.sh(("setpriv --reuid=65534 --regid=65534 --clear-groups %s %s"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^0%s+0\n1234\n700\nrl%.example\n"), out)
    assert.are.equal("0000000000000021", field(out, "CapBnd"))
    assert.are.equal("0000000000000020", field(out, "CapPrm"))
    assert.are.equal("0000000000000000", field(out, "CapInh"))
    assert.truthy(out:find("personality ret=-1 errno=77", 1, true), out)
  end)

  it("refuses what would change the host or lacks its namespace", function()
    local function err(extra) return H.recipe_error(H.bb("true", extra)) end
    assert.are.equal('recipe.sysctl["kernel.pid_max"]: not a namespaced sysctl (net.*, kernel.shm*/msg*/sem, fs.mqueue.*, '
      .. "kernel.hostname, kernel.domainname): it would change the host",
      err { sysctl = { ["kernel.pid_max"] = "4096" } })
    assert.are.equal('recipe.sysctl["net.ipv4.ip_forward"]: needs the jail\'s own net namespace (or one joined by path)',
      err { sysctl = { ["net.ipv4.ip_forward"] = "1" }, network = "host" })
    assert.are.equal('recipe.sysctl["net/../vm/x"]: expected a sysctl name like "net.ipv4.ip_forward", got "net/../vm/x"',
      err { sysctl = { ["net/../vm/x"] = "1" } })
    assert.are.equal("recipe.domainname: needs the jail's own uts namespace",
      err { domainname = "x", namespaces = { "pid", "mount" } })
    assert.are.equal("recipe.oom_score_adj: expected an integer from -1000 to 1000, got -1001",
      err { oom_score_adj = -1001 })
    assert.are.equal('recipe.personality: expected "linux" or "linux32", got "bsd"', err { personality = "bsd" })
  end)
end)
