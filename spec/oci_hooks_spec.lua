-- OCI hooks of the runtime's namespaces: prestart and createRuntime while
-- the container's init is stopped before pivot_root, poststart after
-- start, poststop after delete; each with exactly its argv and env and
-- the state JSON on stdin.  Checked through the kernel (/proc of the
-- container's init as the hook saw it) and what each hook wrote.
local H = require "spec.support.helper"
local O = require "spec.support.oci"
local oci = require "cgsandbox.oci"

local ARR, OBJ = oci.array_mt, oci.object_mt
local function arr(t) return setmetatable(t, ARR) end
local function obj(t) return setmetatable(t, OBJ) end

-- a hook script: its argv, env and stdin into DIR/KIND.*, and what it
-- sees of the container's init (its pid from the state on stdin)
local HOOK = [[#!/bin/sh
d=$1; k=$2
cat > "$d/$k.state"
printf '%s\n' "$@" > "$d/$k.argv"
env > "$d/$k.env"
pid=$(sed -n 's/.*"pid":[ ]*\([0-9]*\).*/\1/p' "$d/$k.state")
{ readlink /proc/$pid/ns/mnt; test -e /proc/$pid/root/etc/debian_version && echo host-root || echo jail-root
  cat /proc/$pid/task/$pid/children; echo; } > "$d/$k.seen" 2>/dev/null
echo "$k" >> "$d/order"
case "$k" in fail*) echo "boom: $k" >&2; exit 3;; slow*) echo $$ > "$d/$k.pid"; exec sleep 30;; esac
exit 0
]]

describe("oci hooks", function()
  local root, dirs = nil, {}
  before_each(function() root = H.tmpdir() end)
  after_each(function()
    for _, id in ipairs { "h1", "h2", "h3", "h4" } do O.ours(root, "/", "delete --force " .. id .. " >/dev/null 2>&1") end
    os.execute("rm -rf " .. root)
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. d) end
    dirs = {}
  end)

  -- a bundle with hooks = { kind = { name, ... } }, each running HOOK
  local function hooked(cmd, hooks, timeout)
    local d = O.bundle(cmd, function(c, dir)
      H.write(dir .. "/hook.sh", HOOK)
      os.execute("chmod 755 " .. dir .. "/hook.sh")
      local hs = obj {}
      for kind, names in pairs(hooks) do
        local list = arr {}
        for _, n in ipairs(names) do
          list[#list + 1] = obj { path = dir .. "/hook.sh", args = arr { "hook-argv0", dir, n },
                                  env = arr { "FOO=bar baz", "EMPTY=" }, timeout = timeout }
        end
        hs[kind] = list
      end
      c.hooks = hs
    end)
    dirs[#dirs + 1] = d
    return d
  end

  it("run prestart and createRuntime before pivot_root, poststart after start, poststop after delete", function()
    local d = hooked("echo ran > /mnt/ran; exec sleep 100",
      { prestart = { "prestart" }, createRuntime = { "createRuntime", "createRuntime2" },
        poststart = { "poststart" }, poststop = { "poststop" } })
    local out, rc = O.ours(root, d, "create h1")
    assert.are.equal(0, rc, out)
    assert.are.equal("prestart\ncreateRuntime\ncreateRuntime2\n", O.read(d .. "/order"))
    local st = O.state(O.RT, root, d, "h1")
    local host_mnt = H.sh("readlink /proc/self/ns/mnt")
    for _, k in ipairs { "prestart", "createRuntime" } do
      local s = assert(oci.decode(O.read(d .. "/" .. k .. ".state"), k))
      assert.are.equal("creating", s.status)
      assert.are.equal("h1", s.id)
      assert.are.equal(st.pid, s.pid)
      assert.are.equal(d, s.bundle)
      -- the init the hook saw: its own mount namespace, the old root
      -- still there (no pivot_root yet), and no command forked
      local mnt, where, children = O.read(d .. "/" .. k .. ".seen"):match("^(%S+)\n(%S+)\n(.-)\n")
      assert.are.equal(H.sh("readlink /proc/" .. st.pid .. "/ns/mnt"), mnt .. "\n")
      assert.are_not.equal(host_mnt, mnt .. "\n")
      assert.are.equal("host-root", where)
      assert.are.equal("", children)
      -- the args after argv[0] (a script's $0 is its path, whatever argv[0] was)
      assert.are.equal(d .. "\n" .. k .. "\n", O.read(d .. "/" .. k .. ".argv"))
      -- exactly the hook's env (sh adds PWD and SHLVL, nothing of ours)
      local env = {}
      for line in O.read(d .. "/" .. k .. ".env"):gmatch("[^\n]+") do
        if not line:match("^PWD=") and not line:match("^SHLVL=") and not line:match("^_=") then env[#env + 1] = line end
      end
      table.sort(env)
      assert.are.same({ "EMPTY=", "FOO=bar baz" }, env)
    end
    -- after create the init has pivoted: its root is the busybox tree
    assert.is_true(O.exists("/etc/debian_version"))
    assert.is_false(O.exists("/proc/" .. st.pid .. "/root/etc/debian_version"))
    assert.is_true(O.exists("/proc/" .. st.pid .. "/root/bin/busybox"))
    assert.is_false(O.exists(d .. "/poststart.state"))

    out, rc = O.ours(root, d, "start h1")
    assert.are.equal(0, rc, out)
    local s = assert(oci.decode(O.read(d .. "/poststart.state"), "poststart"))
    assert.are.equal("running", s.status)
    assert.are.equal(st.pid, s.pid)
    assert.is_true(O.wait_for(function() return O.exists(d .. "/out/ran") end))

    assert.is_false(O.exists(d .. "/poststop.state"))
    out, rc = O.ours(root, d, "delete --force h1")
    assert.are.equal(0, rc, out)
    s = assert(oci.decode(O.read(d .. "/poststop.state"), "poststop"))
    assert.are.equal("stopped", s.status)
    assert.are.equal(0, s.pid)
    assert.are.equal("prestart\ncreateRuntime\ncreateRuntime2\npoststart\npoststop\n", O.read(d .. "/order"))
    assert.is_false(O.alive(st.pid))
  end)

  it("fail create when createRuntime fails: its status and stderr named, nothing left behind", function()
    local d = hooked("exec sleep 100", { createRuntime = { "createRuntime", "fail-cr", "never" } })
    local out, rc = O.ours(root, d, "create h2")
    assert.are.equal(1, rc)
    assert.matches("hooks%.createRuntime%[1%]: " .. d:gsub("%p", "%%%0") .. "/hook%.sh exited with status 3: boom: fail%-cr", out)
    assert.are.equal("createRuntime\nfail-cr\n", O.read(d .. "/order"))
    local pid = tonumber(O.read(d .. "/fail-cr.state"):match('"pid":%s*(%d+)'))
    assert.is_true(O.wait_for(function() return not O.alive(pid) end))
    assert.is_false(O.exists(root .. "/h2"))
    local cg = H.core.cgroup_parent()
    if cg then assert.is_false(O.exists(cg .. "/h2")) end
    local _, src = O.ours(root, d, "state h2")
    assert.are.equal(3, src)
  end)

  it("kill a hook past its timeout and fail create", function()
    local d = hooked("exec sleep 100", { prestart = { "slow-pre" } }, 1)
    local t0 = H.core.now()
    local out, rc = O.ours(root, d, "create h3")
    assert.are.equal(1, rc)
    assert.matches("hooks%.prestart%[0%]: .*killed after its timeout of 1 s", out)
    assert.is_true(H.core.now() - t0 < 10)
    local hpid = tonumber(O.read(d .. "/slow-pre.pid"))
    assert.is_true(O.wait_for(function() return not O.alive(hpid) end))
    assert.is_false(O.exists(root .. "/h3"))
  end)

  it("warn when poststart fails, and the container runs on", function()
    local d = hooked("exec sleep 100", { poststart = { "fail-ps" } })
    local out, rc = O.ours(root, d, "run -d h4")
    assert.are.equal(0, rc, out)
    assert.matches("warning: hooks%.poststart%[0%]: .*exited with status 3", out)
    assert.are.equal("running", O.state(O.RT, root, d, "h4").status)
  end)

  it("run createContainer in the container before pivot_root, startContainer in it before the command", function()
    -- the bundle below /tmp, as any: before pivot_root the host's tree is
    -- whole in the container's mount namespace (the new root is attached
    -- over its own path)
    local d = H.tmpdir()
    dirs[#dirs + 1] = d
    -- each writes what it sees: its namespaces and cgroup, whether the
    -- host's tree is its root, and its stdin; into the bundle's out/
    -- (before pivot_root by its host path, after it at /mnt)
    local probe = [[o=%s; { for n in mnt pid net; do readlink /proc/self/ns/$n; done; grep ^0:: /proc/self/cgroup;
      test -e /etc/debian_version && echo host-tree || echo jail-tree; test -e $o/ran && echo cmd-ran || echo no-cmd;
      grep -E "^(Uid|CapEff|Seccomp):" /proc/self/status; echo "FOO=$FOO"; cat; echo; } > $o/%s.seen]]
    O.bundle("echo yes > /mnt/ran; exec sleep 100", function(c)
      c.hooks = obj {
        createContainer = arr { obj { path = "/bin/sh", args = arr { "sh", "-c", probe:format(d .. "/out", "cc") },
                                      env = arr { "FOO=cc" } } },
        startContainer = arr { obj { path = "/bin/sh", args = arr { "sh", "-c", probe:format("/mnt", "sc") },
                                     env = arr { "FOO=sc" }, timeout = 10 } },
      }
    end, d)
    local out, rc = O.ours(root, d, "create h1")
    assert.are.equal(0, rc, out)
    local st = O.state(O.RT, root, d, "h1")
    local saved = O.saved(root, "h1")
    local function ns_of(pid, k) return (H.sh(("readlink /proc/%s/ns/%s"):format(pid, k)):gsub("%s+$", "")) end
    local cg = saved.cgroup:sub(#H.core.cgroup_mountpoint() + 1)
    local want = { ns_of(st.pid, "mnt"), ns_of(st.pid, "pid"), ns_of(st.pid, "net"), "0::" .. cg }
    local function lines(k)
      local t = {}
      for l in (O.read(d .. "/out/" .. k .. ".seen") or ""):gmatch("[^\n]*") do t[#t + 1] = l end
      return t
    end
    local cc = lines("cc")
    assert.are.same(want, { cc[1], cc[2], cc[3], cc[4] })
    assert.are.equal("host-tree", cc[5]) -- before pivot_root
    assert.are.equal("no-cmd", cc[6])
    assert.matches("^Uid:%s+0%s", cc[7])
    assert.are.equal("Seccomp:	0", cc[9]) -- no filter: the runtime's own program
    assert.are.equal("FOO=cc", cc[10])
    local s = assert(oci.decode(O.read(d .. "/out/cc.seen"):match("\nFOO=cc\n(.*)$"), "createContainer's stdin"))
    assert.are.equal("creating", s.status)
    assert.are.equal(st.pid, s.pid)
    assert.is_nil(O.read(d .. "/out/sc.seen"))

    out, rc = O.ours(root, d, "start h1")
    assert.are.equal(0, rc, out)
    local sc = lines("sc")
    assert.are.same(want, { sc[1], sc[2], sc[3], sc[4] })
    assert.are.equal("jail-tree", sc[5]) -- after pivot_root: the busybox tree
    assert.are.equal("no-cmd", sc[6]) -- before the command
    assert.are.equal("FOO=sc", sc[10])
    assert.are.equal("created", assert(oci.decode(O.read(d .. "/out/sc.seen"):match("\nFOO=sc\n(.*)$"),
      "startContainer's stdin")).status)
    assert.is_true(O.wait_for(function() return O.exists(d .. "/out/ran") end))
    assert.are.equal("running", O.state(O.RT, root, d, "h1").status)
  end)

  it("stop the container when startContainer fails, and fail create when createContainer does", function()
    local d = H.tmpdir()
    dirs[#dirs + 1] = d
    local function with(kind)
      os.remove(d .. "/config.json")
      O.bundle("echo yes > /mnt/ran; exec sleep 100", function(c)
        c.hooks = obj { [kind] = arr { obj { path = "/bin/sh", args = arr { "sh", "-c", "echo no-$K >&2; exit 4" },
                                             env = arr { "K=" .. kind } } } }
      end, d)
    end
    with("startContainer")
    local out, rc = O.ours(root, d, "create h2")
    assert.are.equal(0, rc, out)
    local pid = O.state(O.RT, root, d, "h2").pid
    out, rc = O.ours(root, d, "start h2")
    assert.are.equal(1, rc)
    assert.matches("start h2: hooks%.startContainer%[0%]: /bin/sh exited with status 4: no%-startContainer", out)
    assert.is_true(O.wait_for(function() return not O.alive(pid) end))
    assert.are.equal("stopped", O.state(O.RT, root, d, "h2").status)
    assert.is_false(O.exists(d .. "/out/ran"))
    assert.are.equal(0, select(2, O.ours(root, d, "delete h2")))

    with("createContainer")
    out, rc = O.ours(root, d, "create h3")
    assert.are.equal(1, rc)
    assert.matches("create h3: hooks%.createContainer%[0%]: /bin/sh exited with status 4: no%-createContainer", out)
    assert.is_false(O.exists(root .. "/h3"))
  end)

  it("refuse hooks that cannot run as written", function()
    local function refused(h, kind)
      local c = assert(oci.load(O.bundle("true")))
      c.hooks = obj { [kind or "createRuntime"] = arr { obj(h) } }
      local r, err = oci.to_recipe(c, "/tmp")
      assert.is_nil(r)
      return err
    end
    assert.matches("hooks%.createRuntime%[0%]%.path: expected an absolute path", refused { path = "hook.sh" })
    assert.matches("hooks%.createRuntime%[0%]%.env%[0%]: expected a \"NAME=value\"", refused { path = "/bin/true", env = arr { "X" } })
    assert.matches("hooks%.createRuntime%[0%]%.timeout", refused { path = "/bin/true", timeout = 0 })
    assert.matches("hooks%.createRuntime%[0%]%.args%[0%]", refused { path = "/bin/true", args = arr { 1 } })
  end)
end)
