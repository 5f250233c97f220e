-- The jail's pid 1 is sbx-init, a program of its own run from a sealed
-- memfd: nothing of the host (binary, argv, memory, handlers, privileges)
-- is in the jail, signals reach the command, the plan crosses as checked
-- bytes, a multithreaded host spawns safely, and pools hand out fresh jails.
local H = require "spec.support.helper"
local sb = H.sb
local core = H.core

local ROOTLESS = "setpriv --reuid=65534 --regid=65534 --clear-groups"

-- a copy of the busybox rootfs with /evil, a script whose interpreter is
-- /proc/self/exe (CVE-2019-5736: runc's own binary used to be that)
local function hostile_rootfs()
  local d = H.tmpdir()
  assert(os.execute(("cp -a %s/. %s/ && printf '#!/proc/self/exe\\n' > %s/evil && chmod 755 %s %s/evil")
                    :format(H.busybox, d, d, d, d)))
  return d
end

-- what an attacker could change about a binary: mode, owner, size, content
local function fingerprint(path)
  local real = H.sh("readlink -f " .. path):gsub("%s+$", "")
  return H.sh(("stat -c '%%a %%u %%s %%Y' %q && sha256sum < %q"):format(real, real))
end

-- then an attacker shell goes for init's exe directly (as root inside)
local ATTACK = [[
chmod 4777 /proc/1/exe 2>/dev/null; echo "chmod=$?"
readlink /proc/1/exe >/dev/null 2>&1; echo "readlink=$?"
echo x 2>/dev/null >> /proc/1/exe; echo "write=$?"
]]

-- /evil as the jail's command: the kernel resolves /proc/self/exe in the
-- process that execs it, a child of init, so it runs the sealed sbx-init
-- image, never a host binary; and sbx-init refuses to be anything but a
-- jail's pid 1
local function check_evil(out, rc)
  assert.truthy(out:find("sbx-init: the pid 1 of a sandboxlua jail; only sandboxlua starts it", 1, true), out)
  assert.are.equal(125, rc, out)
end

local function check_attack(out)
  assert.truthy(out:find("chmod=1\nreadlink=1\nwrite=1\n", 1, true), out)
end

describe("the jail's init", function()
  local root
  setup(function() root = hostile_rootfs() end)
  teardown(function() os.execute("rm -rf " .. root) end)

  local function recipe_src(cmd)
    return ([[return { rootfs = %q, cgroup = false, command = %s }]])
      :format(root, cmd and ("{ \"/bin/sh\", \"-c\", %q }"):format(cmd) or '{ "/evil" }')
  end

  it("is no host binary: #!/proc/self/exe reaches only the sealed sbx-init (CLI, as root)", function()
    local before = fingerprint(H.bin)
    check_evil(H.host(recipe_src()))
    check_attack(H.host(recipe_src(ATTACK)))
    assert.are.equal(before, fingerprint(H.bin))
  end)

  it("is no host binary for a rootless CLI either", function()
    local before = fingerprint(H.bin)
    for _, cmd in ipairs { false, ATTACK } do
      local f = H.recipe_file(recipe_src(cmd or nil))
      local out, rc = H.sh(("%s %s %s"):format(ROOTLESS, H.bin, f))
      os.remove(f)
      if cmd then check_attack(out) else check_evil(out, rc) end
    end
    assert.are.equal(before, fingerprint(H.bin))
  end)

  it("is no host binary when lua5.4 embeds cgsandbox, as root and rootless", function()
    local lua = H.sh("command -v " .. H.lua):gsub("%s+$", "")
    local before = fingerprint(lua)
    -- the embedding program runs /evil, then the attacker shell
    local script = H.lua_script(([[
      for _, cmd in ipairs { { "/evil" }, { "/bin/sh", "-c", %q } } do
        local r = sb.run { rootfs = %q, cgroup = false, command = cmd,
                           stdio = { stdout = "capture", stderr = "capture" } }
        io.write(r.stdout or "", r.stderr or "", "exit=", r.exit_code, "\n")
      end
    ]]):format(ATTACK, root))
    for _, prefix in ipairs { "", ROOTLESS .. " " } do
      local out = H.sh(prefix .. lua .. " " .. script)
      assert.truthy(out:find("only sandboxlua starts it\nexit=125\n", 1, true), out)
      check_attack(out)
    end
    os.remove(script)
    assert.are.equal(before, fingerprint(lua))
  end)

  it("runs from a sealed memfd the host cannot write either", function()
    local h = assert(sb.spawn(H.bb("sleep 5")))
    finally(function() h:close() end)
    local pid = h:pid()
    local link = H.sh("readlink /proc/" .. pid .. "/exe")
    assert.truthy(link:find("^/memfd:sbx%-init"), link)
    local _, rc = H.sh(("sh -c 'echo x >> /proc/%d/exe'"):format(pid))
    assert.are_not.equal(0, rc)
    assert.are.equal(0, select(2, H.sh(("grep -q '^sbx-init$' /proc/%d/comm"):format(pid))))
  end)

  it("refuses to run unless sandboxlua started it", function()
    local out, rc = H.sh(H.root .. "/build/sbx-init")
    assert.are.equal(125, rc)
    assert.truthy(out:find("only sandboxlua starts it", 1, true), out)
  end)

  local HONEST = "tr '\\0' ' ' < /proc/1/cmdline; echo; grep -E '^(Cap|NoNewPrivs|Seccomp|SigCgt|SigIgn)' /proc/1/status; " ..
                 "cat /proc/1/environ >/dev/null 2>&1; echo environ=$?"
  local function check_honest(out)
    assert.truthy(out:find("^sbx%-init \n"), out) -- no host argv (--token=...)
    assert.falsy(out:find("s3cret", 1, true), out)
    for _, set in ipairs { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" } do
      assert.truthy(out:find(set .. ":%s+0000000000000000"), set .. "\n" .. out)
    end
    assert.truthy(out:find("NoNewPrivs:%s+1"), out)
    assert.truthy(out:find("Seccomp:%s+2"), out)
    assert.truthy(out:find("SigCgt:%s+0000000000000000"), out) -- no host handler
    assert.truthy(out:find("SigIgn:%s+0000000000000000"), out) -- nothing the host ignored
    assert.truthy(out:find("environ=1", 1, true), out)
  end

  it("shows sbx-init and no host argv, and holds nothing: no capability, no_new_privs, seccomp, no handler", function()
    -- the CLI traps INT/TERM/HUP and ignores SIGPIPE: none of it may show
    local src = ([[return { rootfs = %q, command = { "/bin/sh", "-c", %q } }]]):format(H.busybox, HONEST)
    check_honest(H.host(src, "--token=s3cret"))
  end)

  it("holds nothing rootless either", function()
    local f = H.recipe_file(([[return { rootfs = %q, cgroup = false, command = { "/bin/sh", "-c", %q } }]])
                            :format(H.busybox, HONEST))
    local out = H.sh(("%s %s %s -- --token=s3cret"):format(ROOTLESS, H.bin, f))
    os.remove(f)
    check_honest(out)
  end)

  it("drops to the command's ids (so passing a signal on needs no capability)", function()
    local r = H.run("grep -E '^(Uid|Gid):' /proc/1/status", { user = { uid = 1234, gid = 4321 } })
    assert.truthy(r.stdout:find("Uid:%s+1234%s+1234%s+1234%s+1234"), r.stdout)
    assert.truthy(r.stdout:find("Gid:%s+4321%s+4321%s+4321%s+4321"), r.stdout)
  end)
end)

describe("signals to a jail", function()
  local function state(pid)
    local f = io.open("/proc/" .. pid .. "/status")
    if not f then return nil end
    local s = f:read("a"):match("\nState:%s+(%a)")
    f:close()
    return s
  end

  local function wait_state(pid, want)
    for _ = 1, 200 do
      if state(pid) == want then return true end
      H.sh("sleep 0.01")
    end
    return false
  end

  it("STOP and CONT stop and resume the command itself; the jail then ends normally", function()
    local h = assert(sb.spawn(H.bb("i=0; while [ $i -lt 30 ]; do sleep 0.02; i=$((i+1)); done; echo finished")))
    finally(function() h:close() end)
    local pid = assert(h:command_pid())
    assert.are_not.equal(h:pid(), pid)
    assert(h:kill("STOP"))
    assert.is_true(wait_state(pid, "T"), "the command never stopped: " .. tostring(state(pid)))
    H.sh("sleep 0.3")
    assert.are.equal("T", state(pid))
    assert.are_not.equal("T", state(h:pid())) -- init keeps running
    assert(h:kill("CONT"))
    local r = h:wait()
    assert.are.equal("exited", r.status)
    assert.are.equal(0, r.exit_code)
    assert.are.equal("finished\n", r.stdout)
  end)

  it("passes ALRM, WINCH and real-time signals to the command", function()
    local dir = H.tmpdir()
    finally(function() os.execute("rm -rf " .. dir) end)
    for _, sig in ipairs { "ALRM", "WINCH", "SIGRTMIN" } do
      local trap = sig == "SIGRTMIN" and "34" or sig
      os.remove(dir .. "/ready")
      local h = assert(sb.spawn(H.bb(("trap 'echo got-%s; exit 7' %s; touch /data/ready; while :; do sleep 0.02; done")
                                     :format(sig, trap), { mounts = { { "bind", dir, "/data" } } })))
      for _ = 1, 300 do
        if io.open(dir .. "/ready") then break end
        H.sh("sleep 0.01")
      end
      assert(h:kill(sig))
      local r = h:wait()
      h:close()
      assert.are.equal(7, r.exit_code, sig .. ": " .. tostring(r.stdout))
      assert.are.equal("got-" .. sig .. "\n", r.stdout)
    end
  end)

  it("refuses a signal that is no signal", function()
    local h = assert(sb.spawn(H.bb("sleep 2")))
    finally(function() h:close() end)
    assert.has_error(function() h:kill("NOPE") end)
    assert.has_error(function() h:kill(4294967305) end)
    assert.has_error(function() h:kill(0) end)
  end)
end)

describe("the plan on the wire", function()
  local base_recipe = H.bb("true", { mounts = { { "tmpfs", "/tmp", size = "1M" }, { "file", "/tmp/f", "data\n" } } })
  local plan = sb.compile(base_recipe)
  local bytes = core.plan_bytes(plan)

  local function feed(raw)
    local p = {}
    for k, v in pairs(plan) do p[k] = v end
    p.raw_plan = raw
    local jail, msg, errno, res = core.spawn(p)
    if jail then -- it decoded into something init could run: let it end
      repeat core.step(100) until jail:done()
      res = jail:result()
      jail:close()
    end
    return res, msg, errno
  end

  it("is versioned and length-checked: the real plan runs, every truncation is a setup error", function()
    assert.are.equal("SBXP", bytes:sub(1, 4))
    local ok = feed(bytes)
    assert.are.equal("exited", ok.status, ok.message)
    local cuts = { 0, 1, 3, 4, 8, 11, 12, 13, #bytes - 1 }
    for i = 20, #bytes - 2, math.max(1, #bytes // 40) do cuts[#cuts + 1] = i end
    for _, n in ipairs(cuts) do
      local r = feed(bytes:sub(1, n))
      assert.are.equal("setup_error", r.status, "cut at " .. n)
      assert.are.equal("plan", r.step, "cut at " .. n .. ": " .. tostring(r.message))
      assert.are.equal(125, r.exit_code)
      assert.truthy(r.message:find("^plan: "), r.message)
      assert.falsy(r.message:find("\n", 1, true))
    end
  end)

  it("rejects a wrong magic, version, length, trailing bytes and absurd counts", function()
    local function set(s, at, v) return s:sub(1, at - 1) .. v .. s:sub(at + #v) end
    local u32 = function(n) return string.pack("<I4", n) end
    local cases = {
      { set(bytes, 1, "XXXX"), "not a sandboxlua plan" },
      { set(bytes, 5, u32(99)), "version 99, this sbx-init understands 1" },
      { set(bytes, 9, u32(#bytes)), "length does not match" },
      { set(bytes, 9, u32(#bytes - 12 + 1)) .. "\0", "trailing bytes" },
      { set(bytes, 13, u32(0xffffffff)), "unknown flags" },
    }
    for _, c in ipairs(cases) do
      local r = feed(c[1])
      assert.are.equal("setup_error", r.status)
      assert.truthy(r.message:find(c[2], 1, true), r.message)
    end
    -- every u32 slot of the body set to a huge count or length
    for at = 13, #bytes - 3, 4 do
      local r = feed(set(bytes, at, u32(0x7fffffff)))
      assert.falsy(r.step == "init", ("at %d: %s"):format(at, tostring(r.message)))
    end
  end)

  it("never crashes init on random damage (a setup error or a clean run)", function()
    math.randomseed(8)
    for _ = 1, 150 do
      local b = { bytes:byte(1, -1) }
      for _ = 1, math.random(1, 4) do
        local at = math.random(13, #b)
        b[at] = math.random(0, 255)
      end
      local r = feed(string.char(table.unpack(b)))
      -- a damaged command filter may kill the command (its fate), but
      -- init itself never crashes (that is a setup error of step "init")
      assert.is_true(r.status == "setup_error" or r.status == "exited" or r.status == "signaled", r.status)
      assert.falsy(r.step == "init", tostring(r.message))
    end
  end)
end)

describe("a multithreaded host", function()
  it("spawns 1000 jails while another thread is busy in malloc, without a hang", function()
    local out, rc = H.sh(("%s/build/spec/mtspawn %s 1000"):format(H.root, H.busybox))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^ok 1000 "), out)
  end)
end)

describe("a warm pool", function()
  local pool
  setup(function()
    pool = assert(sb.pool({ rootfs = H.busybox, mounts = { { "tmpfs", "/tmp" } } }, { size = 2 }))
  end)
  teardown(function() pool:close() end)

  it("gives every job a fresh jail: nothing one job leaves is there for the next", function()
    local a = pool:run { command = "echo x > /tmp/mark; echo $$; ls /tmp", stdout = "capture" }
    local b = pool:run { command = "test -e /tmp/mark && echo leaked || echo fresh", stdout = "capture" }
    assert.are.equal("exited", a.status)
    assert.are.equal("2\nmark\n", a.stdout) -- the command is pid 2 of its own pid namespace
    assert.are.equal("fresh\n", b.stdout)
    assert.is_true(a.pooled and b.pooled)
    if a.cgroup and b.cgroup then assert.are_not.equal(a.cgroup, b.cgroup) end
  end)

  it("returns the usual result table: status, exit code, captured output, stdin, env, cwd", function()
    local r = pool:run { command = { "/bin/sh", "-c", "cat; echo \"$GREETING\"; pwd; echo oops >&2; exit 3" },
                         env = { GREETING = "hi", PATH = "/bin" }, cwd = "/tmp",
                         stdin = { data = "from stdin\n" }, stdout = "capture", stderr = "capture" }
    assert.are.equal("exited", r.status)
    assert.are.equal(3, r.exit_code)
    assert.are.equal("from stdin\nhi\n/tmp\n", r.stdout)
    assert.are.equal("oops\n", r.stderr)
    assert.is_true(r.wall_s > 0)
  end)

  it("bounds a job by its own wall limit", function()
    local r = pool:run { command = { "/bin/sleep", "5" }, limits = { wall = "200ms" } }
    assert.are.equal("timeout", r.status)
    assert.are.equal("wall", r.timeout)
    assert.is_true(r.wall_s < 3)
  end)

  it("takes only what a job may change; the rest is the pool's recipe", function()
    local ok, e = pcall(pool.run, pool, { command = "true", rootfs = "/" })
    assert.is_false(ok)
    assert.truthy(tostring(e):find("job.rootfs: not a job field", 1, true), tostring(e))
  end)

  it("says why a recipe cannot be pooled", function()
    local p, msg, errno, res = sb.pool({ rootfs = "/nonexistent/rootfs" })
    assert.is_nil(p)
    assert.are.equal("ENOENT", errno)
    assert.truthy(msg:find("rootfs /nonexistent/rootfs", 1, true), msg)
    assert.are.equal("setup_error", res.status)
  end)

  it("leaves nothing behind once closed", function()
    local before, procs = H.leaves(), H.children()
    local p = assert(sb.pool({ rootfs = H.busybox }, { size = 3 }))
    assert.are.equal(0, p:run({ command = "true" }).exit_code)
    assert.is_true(H.leaves() >= before + 3) -- parked jails have their leaves
    p:close()
    assert.are.equal(before, H.leaves())
    assert.are.equal(procs, H.children())
  end)

  it("serves run_all{warm = true}: the same results, from pooled jails", function()
    local before = H.leaves()
    local jobs = {}
    for i = 1, 12 do
      jobs[i] = H.bb(("echo job %d; exit %d"):format(i, i % 3), { name = "j" .. i })
    end
    local warm = sb.run_all(jobs, { parallel = 3, warm = true })
    local cold = sb.run_all(jobs, { parallel = 3 })
    for i = 1, 12 do
      assert.is_true(warm[i].pooled, "job " .. i)
      assert.is_nil(cold[i].pooled)
      assert.are.equal(cold[i].exit_code, warm[i].exit_code)
      assert.are.equal(cold[i].stdout, warm[i].stdout)
      assert.are.equal("j" .. i, warm[i].name)
    end
    assert.are.equal(before, H.leaves()) -- run_all closed its pools
  end)
end)
