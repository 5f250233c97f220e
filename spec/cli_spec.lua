-- The command line: help, version, --check, args, the cgroup parent's
-- sources, and what the host says when there is no cgroup2 at all.
local H = require "spec.support.helper"

local recipe_file = H.recipe_file

describe("sandboxlua", function()
  it("prints usage with --help and its version with --version", function()
    local out, rc = H.sh(H.bin .. " --help")
    assert.are.equal(0, rc)
    assert.truthy(out:find("^usage: sandboxlua %[options%] RECIPE.lua|%- %[%-%-%] %[args...%]\n       sandboxlua run "), out)
    assert.truthy(out:find("--check", 1, true) and out:find("--json <FILE>", 1, true) and out:find("--junit <FILE>", 1, true))
    local v, rc2 = H.sh(H.bin .. " --version")
    assert.are.equal(0, rc2)
    assert.are.equal("sandboxlua " .. H.sb.version .. "\n", v)
  end)

  it("--check prints the compiled plan readably and spawns nothing", function()
    local before = H.leaves()
    local f = recipe_file([[return { command = { "/bin/sh", "-c", "touch /tmp/ran-" .. ... }, limits = { memory = "50M", optional = true } }]])
    local out, rc = H.sh(("%s --check %s -- x%d"):format(H.bin, f, H.core.getpid()))
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("\n  limit        memory.max = 52428800 (optional)\n", 1, true), out)
    assert.truthy(out:find("\n  command      /bin/sh -c touch /tmp/ran-x", 1, true), out)
    assert.truthy(out:find("\nok\n$"), out)
    assert.is_nil(io.open(("/tmp/ran-x%d"):format(H.core.getpid())))
    assert.are.equal(before, H.leaves())
  end)

  it("passes the arguments after -- to the recipe as ...", function()
    local f = recipe_file([[local a, b = ...; return { command = { "/bin/echo", a, b, tostring(select("#", ...)) } }]])
    local out, rc = H.sh(("%s %s -- 'two words' second"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc)
    assert.are.equal("two words second 2\n", out)
  end)

  it("exits with a recipe's returned number when it did its own work", function()
    local f = recipe_file([[local sb = require "cgsandbox"
      local r = sb.run { command = { "/bin/sh", "-c", "exit 9" } }
      return r.exit_code + 1]])
    local _, rc = H.sh(("%s %s"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(10, rc)
  end)

  it("takes the cgroup parent from $SANDBOXLUA_CGROUP, and --cgroup-parent over it", function()
    local top = assert(H.sb.cgroup.create {})
    finally(function() top:close() end)
    local f = recipe_file([[return { command = { "/bin/true" } }]])
    -- a mistyped parent is an error, and no directory is left behind
    for _, how in ipairs { "SANDBOXLUA_CGROUP=%s/typo %s %s", "%s %s --cgroup-parent %s/typo %s" } do
      local cmd = how:find("^SANDBOX") and how:format(top:path(), H.bin, f) or how:format("", H.bin, top:path(), f)
      local out, rc = H.sh(cmd .. " 2>&1")
      assert.are.equal(125, rc, out)
      assert.are.equal(("sandboxlua: parent cgroup %s/typo does not exist (it came from the recipe, --cgroup-parent "
        .. "or $SANDBOXLUA_CGROUP: create it first, fix the path, or say cgroup.create = true): No such file or directory\n"):format(top:path()), out)
      assert.is_nil(io.open(top:path() .. "/typo/cgroup.procs"))
    end
    H.sh(("mkdir %s/envp %s/flag"):format(top:path(), top:path()))
    local out, rc = H.sh(("SANDBOXLUA_CGROUP=%s/envp %s --json - %s"):format(top:path(), H.bin, f))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find('"cgroup": "' .. top:path() .. '/envp/sbx-', 1, true), out)
    out, rc = H.sh(("SANDBOXLUA_CGROUP=%s/envp %s --cgroup-parent %s/flag --json - %s"):format(top:path(), H.bin, top:path(), f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    assert.truthy(out:find('"cgroup": "' .. top:path() .. '/flag/sbx-', 1, true), out)
    H.sh(("rmdir %s/envp %s/flag"):format(top:path(), top:path()))
  end)

  it("removes the default parent cgroup (<cgroup2 mount>/sandboxlua) as it ends, once no jail uses it", function()
    local mnt = assert(H.core.cgroup_mountpoint())
    local f = recipe_file([[return { command = { "/bin/true" } }]])
    local out, rc = H.sh(("env -u SANDBOXLUA_CGROUP %s --json - %s"):format(H.bin, f))
    assert.are.equal(0, rc, out)
    assert.truthy(out:find('"cgroup": "' .. mnt .. '/sandboxlua/sbx-', 1, true), out)
    -- gone, unless another host's leaves keep it (specs do not assume they run alone)
    local still = io.open(mnt .. "/sandboxlua/cgroup.procs")
    if still then
      still:close()
      assert.are_not.equal("", H.sh(("find %s/sandboxlua -mindepth 1 -maxdepth 1 -type d"):format(mnt)))
    end
    -- another host's live jail keeps it: this one's leaf sits in the parent
    local h = assert(H.sb.spawn { command = { "/bin/sleep", "30" } })
    finally(function() h:close() end)
    out, rc = H.sh(("env -u SANDBOXLUA_CGROUP %s %s"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    local fh = assert(io.open(mnt .. "/sandboxlua/cgroup.procs"))
    fh:close()
  end)

  it("applies --cgroup-parent to every job of a list, and names a bad job's field", function()
    local top = assert(H.sb.cgroup.create {})
    finally(function() top:close() end)
    local f = recipe_file([[return { { command = { "/bin/true" } }, { command = { "/bin/true" } } }]])
    H.sh(("mkdir %s/jobs"):format(top:path()))
    local out, rc = H.sh(("%s -q --cgroup-parent %s/jobs --json - %s"):format(H.bin, top:path(), f))
    assert.are.equal(0, rc, out)
    local _, n = out:gsub('"cgroup": "' .. top:path():gsub("%p", "%%%0") .. '/jobs/sbx%-', "")
    assert.are.equal(2, n, out)
    local bad = recipe_file([[return { { command = { "/bin/true" } }, { command = { "/bin/true" }, limits = { pids = 0 } } }]])
    local out2, rc2 = H.sh(("%s %s"):format(H.bin, bad))
    os.remove(f)
    os.remove(bad)
    assert.are.equal(2, rc2)
    assert.are.equal('sandboxlua: jobs[2].limits.pids: expected an integer >= 2 or "max", got 0: '
      .. "the jail's init counts: pids = 2 is init and the command (which cannot fork)\n", out2)
  end)

  it("says precisely that no cgroup2 hierarchy is mounted (exit 125)", function()
    local mnt = H.core.cgroup_mountpoint()
    local f = recipe_file([[return { command = { "/bin/true" } }]])
    -- a private mount namespace without the cgroup2 mount
    local out, rc = H.sh(("unshare -m sh -c 'umount -l %s && exec %s %s'"):format(mnt, H.bin, f))
    local f2 = recipe_file([[return { command = { "/bin/echo", "no cgroup" }, cgroup = false }]])
    local out2, rc2 = H.sh(("unshare -m sh -c 'umount -l %s && exec %s %s'"):format(mnt, H.bin, f2))
    os.remove(f)
    os.remove(f2)
    assert.are.equal(125, rc, out)
    assert.truthy(out:find("^sandboxlua: no cgroup2 hierarchy is mounted"), out)
    assert.are.equal(0, rc2, out2) -- unless the recipe asks for none
    assert.are.equal("no cgroup\n", out2)
  end)

  it("gives tty = true jails a console: a pty in the jail, job control, the host relaying", function()
    local f = recipe_file(([[return { rootfs = %q, tty = true, env = { PATH = "/bin", PS1 = "jail$ " },
                                      command = { "/bin/sh", "-i" } }]]):format(H.busybox))
    local input = os.tmpname()
    local fh = io.open(input, "w")
    fh:write("tty; stty size; sleep 60 & jobs\nexit 3\n")
    fh:close()
    -- script(1) gives the host a terminal of its own
    local out, rc = H.sh(("script -qec 'stty rows 33 cols 77; %s %s' /dev/null < %s"):format(H.bin, f, input))
    os.remove(f)
    os.remove(input)
    assert.are.equal(3, rc, out)
    assert.truthy(out:find("/dev/pts/0", 1, true), out)  -- the jail's own devpts
    assert.truthy(out:find("33 77", 1, true), out)       -- the host terminal's size
    assert.truthy(out:find("[1]+  Running", 1, true), out) -- job control: a controlling tty
    local ok, e = pcall(H.sb.compile, { command = { "/bin/sh" }, tty = true, stdio = { stdout = "capture" } })
    assert.is_false(ok)
    assert.truthy(e.message:find("^recipe.tty: the console is the command's stdin"), e.message)
  end)

  it("shows a live progress line for a job list on a terminal", function()
    local f = recipe_file([[local j = {} for i = 1, 3 do
      j[i] = { name = "t" .. i, command = { "/bin/sleep", "0.3" } } end return { parallel = 3, jobs = j }]])
    local out, rc = H.sh(("script -qec '%s %s' /dev/null </dev/null"):format(H.bin, f))
    local quiet = H.sh(("%s %s"):format(H.bin, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    -- the running jobs by name, the elapsed time, and the end
    assert.truthy(out:find("%[0/3%] %d+s, 0 failed, running: t1, t2, t3"), out)
    assert.truthy(out:find("[3/3] ", 1, true), out)
    assert.falsy(quiet:find("running:", 1, true), quiet) -- not a terminal: no progress line
    assert.truthy(quiet:find("job%s+status"), quiet)
  end)

  it("--trace shows each setup step, on the host and in the jail's init, with its time", function()
    local f = recipe_file(([[return { rootfs = %q, command = { "/bin/true" } }]]):format(H.busybox))
    local out, rc = H.sh(("%s --trace %s"):format(H.bin, f))
    local js = os.tmpname()
    H.sh(("%s --trace -q --json %s %s"):format(H.bin, js, f))
    os.remove(f)
    assert.are.equal(0, rc, out)
    for _, step in ipairs { "host  cgroup", "host  clone+exec init", "init  decode", "init  proc",
                            "init  masks", "init  pivot_root", "init  command setup+exec", "total" } do
      assert.truthy(out:find("sandboxlua: trace " .. step, 1, true), step .. "\n" .. out)
    end
    for ms in out:gmatch("(%d+%.%d+) ms") do assert.is_true(tonumber(ms) >= 0) end
    local j = io.open(js):read("a")
    os.remove(js)
    assert.truthy(j:find('"where": "init"', 1, true), j)
    assert.truthy(j:find('"step": "pivot_root"', 1, true), j)
  end)
end)
