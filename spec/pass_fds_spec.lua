-- Passing the host's fds to the command: the recipe's pass_fds (fd numbers
-- or open Lua files, at 3, 4, ... in the jail) and the OCI runtime's
-- --preserve-fds N (the caller's 3 .. 2+N, as runc passes them, for
-- podman's --preserve-fds and socket activation).  What the command holds
-- is read in the jail from /proc/self/fd and by inode, and what it writes
-- lands in the host's file; nothing else of the host's comes along, and a
-- closed fd is a setup error that leaves nothing.
local H = require "spec.support.helper"
local S = require "spec.support.oci"
local sb = H.sb

local rt, OURS = S.rt, S.RT
local have_runc = os.execute("command -v runc >/dev/null 2>&1")

local inode = H.inode

-- the jail's view: what fd 3 reads, its inode, the fds the command holds
-- (ls's own directory fd is the last one)
local PROBE = "cat <&3; echo written >&4; stat -L -c %i /proc/self/fd/3; exec ls /proc/self/fd"

describe("pass_fds in a recipe", function()
  local dir
  before_each(function()
    dir = H.tmpdir()
    H.write(dir .. "/in", "passed\n")
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("hands the named fds to the command at 3, 4, ... and nothing else of the host's", function()
    local fin = assert(io.open(dir .. "/in"))
    local fout = assert(io.open(dir .. "/out", "w"))
    local spare = assert(io.open(dir .. "/in")) -- open here, not named
    finally(function() fin:close(); fout:close(); spare:close() end)
    local r = sb.run(H.job({ "/bin/sh", "-c", PROBE }, { pass_fds = { fin, fout } }))
    assert.are.equal("exited", r.status, r.message)
    assert.are.equal(0, r.exit_code, r.stderr)
    assert.are.equal("passed\n" .. inode(dir .. "/in") .. "\n0\n1\n2\n3\n4\n5\n", r.stdout)
    fout:flush()
    assert.are.equal("written\n", H.read(dir .. "/out"))
    -- without it, the same host (with the same files open) passes none
    r = sb.run(H.job({ "/bin/ls", "/proc/self/fd" }))
    assert.are.equal("0\n1\n2\n3\n", r.stdout)
  end)

  it("takes fd numbers too, in the order given", function()
    local fin = assert(io.open(dir .. "/in"))
    local fout = assert(io.open(dir .. "/out", "w"))
    finally(function() fin:close(); fout:close() end)
    -- this process's numbers for the two files, from the kernel
    local num = {}
    local fdd = "/proc/" .. H.core.getpid() .. "/fd"
    for _, n in ipairs(H.core.listdir(fdd)) do
      local t = H.trim(H.sh("readlink " .. fdd .. "/" .. n))
      if t == dir .. "/in" or t == dir .. "/out" then num[t:match("[^/]+$")] = tonumber(n) end
    end
    assert.is_number(num["in"])
    assert.is_number(num.out)
    local r = sb.run(H.job({ "/bin/sh", "-c", "echo to-three >&3; cat <&4" }, { pass_fds = { num.out, num["in"] } }))
    assert.are.equal("exited", r.status, r.message)
    assert.are.equal("passed\n", r.stdout, r.stderr)
    fout:flush()
    assert.are.equal("to-three\n", H.read(dir .. "/out"))
  end)

  it("a closed fd is a setup error naming it, and leaves no cgroup and no fd", function()
    local leaves, fds = H.leaves(), H.fds()
    local r = sb.run(H.job({ "/bin/true" }, { pass_fds = { 0, 999 } }))
    assert.are.equal("setup_error", r.status)
    assert.are.equal("pass_fds", r.step)
    assert.are.equal("EBADF", r.errno)
    assert.truthy(r.message:find("pass_fds[2]: fd 999 is not open", 1, true), r.message)
    assert.are.equal(leaves, H.leaves())
    assert.are.equal(fds, H.fds())
  end)

  it("init checks the count on the wire against the fds that came: too few or too many is a plan error", function()
    local core = H.core
    local function feed(raw_of, fds)
      local p = sb.compile(H.bb("true"))
      p.raw_plan = raw_of
      p.pass_fds = fds
      local jail, msg, _, res = core.spawn(p)
      if jail then
        repeat core.step(100) until jail:done()
        res = jail:result()
        jail:close()
      end
      return res or { message = msg }
    end
    local with = core.plan_bytes(sb.compile(H.bb("true", { pass_fds = { 0 } })))
    local without = core.plan_bytes(sb.compile(H.bb("true")))
    assert.are.equal("exited", feed(with, { 0 }).status)
    local r = feed(with, nil)
    assert.are.equal("setup_error", r.status)
    assert.truthy(r.message:find("^plan: %a+: an fd is missing"), r.message)
    r = feed(without, { 0 })
    assert.are.equal("setup_error", r.status)
    assert.truthy(r.message:find("^plan: stdio: unexpected fds"), r.message)
  end)

  it("run_all{warm = true} runs such jobs each in a jail of its own; a pool of them is a setup error", function()
    local fin = assert(io.open(dir .. "/in"))
    finally(function() fin:close() end)
    local jobs = {}
    for i = 1, 3 do jobs[i] = H.job({ "/bin/sh", "-c", "cat <&3" }, { pass_fds = { fin } }) end
    local res = sb.run_all(jobs, { parallel = 2, warm = true })
    for i = 1, 3 do
      assert.are.equal("exited", res[i].status, res[i].message)
      assert.is_falsy(res[i].pooled)
    end
    -- one open file, read by three commands: all of it once, in turn
    assert.are.equal("passed\n", res[1].stdout .. res[2].stdout .. res[3].stdout)
    local pool, msg = sb.pool(H.job({ "/bin/true" }, { pass_fds = { fin } }), { size = 1 })
    assert.is_nil(pool)
    assert.truthy(tostring(msg):find("pass_fds: not for a pool's jail", 1, true), msg)
  end)

  it("refuses what is not a list of fds, naming the field", function()
    local function err(v)
      local ok, e = pcall(sb.compile, H.job({ "/bin/true" }, { pass_fds = v }))
      assert.is_false(ok)
      return tostring(type(e) == "table" and e.msg or e)
    end
    assert.truthy(err({ "x" }):find("pass_fds[1]", 1, true))
    assert.truthy(err({ -1 }):find("pass_fds[1]", 1, true))
    assert.truthy(err({ 3, 4.5 }):find("pass_fds[2]", 1, true))
    assert.truthy(err({ a = 3 }):find("pass_fds", 1, true))
    assert.truthy(err(3):find("pass_fds", 1, true))
    local many = {}
    for i = 1, 65 do many[i] = 0 end
    assert.truthy(err(many):find("at most 64", 1, true))
    local closed = assert(io.open(dir .. "/in"))
    closed:close()
    assert.truthy(err({ closed }):find("pass_fds[1]", 1, true))
  end)
end)

describe("oci --preserve-fds", function()
  local dir, root, rroot
  before_each(function()
    root, rroot = H.tmpdir(), H.tmpdir()
    dir = S.bundle(PROBE)
    H.write(dir .. "/in", "passed\n")
  end)
  after_each(function()
    for _, id in ipairs { "p1", "p2", "x1" } do rt(OURS, root, "/", "delete --force " .. id) end
    os.execute("rm -rf " .. root .. " " .. rroot .. " " .. dir)
  end)

  -- the runtime run with fd 3 reading dir/in and fd 4 writing dir/out
  local function run(bin, rr, args)
    os.remove(dir .. "/fd-out")
    local out, rc = rt(bin, rr, dir, args .. " 3<" .. dir .. "/in 4>" .. dir .. "/fd-out")
    return out, rc, S.read(dir .. "/fd-out")
  end

  it("run --preserve-fds 2: the caller's fds 3 and 4 are the command's, as runc passes them", function()
    local want = "passed\n" .. inode(dir .. "/in") .. "\n0\n1\n2\n3\n4\n5\n"
    local out, rc, wrote = run(OURS, root, "run --preserve-fds 2 -b " .. dir .. " p1")
    assert.are.equal(0, rc, out)
    assert.are.equal(want, out)
    assert.are.equal("written\n", wrote)
    -- without the flag the caller's fd 3 and 4 stay out
    out, rc = run(OURS, root, "run -b " .. dir .. " p2")
    assert.are.equal(0, rc, out)
    assert.truthy(out:find("^sh: 3: Bad file descriptor\n"), out)
    assert.truthy(out:find("\n0\n1\n2\n3\n$"), out)
    if have_runc then
      local rout, rrc, rwrote = run("runc", rroot, "run --preserve-fds 2 -b " .. dir .. " p1")
      assert.are.same({ 0, want, "written\n" }, { rrc, rout, rwrote })
    end
  end)

  it("a caller's fd that is not open is refused before anything is made (runc passes one of its own)", function()
    local out, rc = rt(OURS, root, dir, "run --preserve-fds 2 -b " .. dir .. " p1 3<" .. dir .. "/in")
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("create: --preserve-fds 2: fd 4 is not open", 1, true), out)
    assert.is_false(S.exists(root .. "/p1"))
    out, rc = rt(OURS, root, dir, "run --preserve-fds lots -b " .. dir .. " p1")
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("--preserve-fds: a number of fds from 0 to 64", 1, true), out)
    assert.are.equal("[]", H.trim((rt(OURS, root, dir, "list --format json"))))
  end)

  it("exec --preserve-fds 1: the exec'd command gets the caller's fd 3", function()
    local d = S.bundle("exec sleep 100")
    finally(function() os.execute("rm -rf " .. d) end)
    local out, rc = rt(OURS, root, d, "run --detach -b " .. d .. " x1")
    assert.are.equal(0, rc, out)
    out, rc = rt(OURS, root, d, "exec --preserve-fds 1 x1 sh -c 'cat <&3; exec ls /proc/self/fd' 3<"
      .. dir .. "/in")
    assert.are.equal(0, rc, out)
    assert.are.equal("passed\n0\n1\n2\n3\n4\n", out)
    out, rc = rt(OURS, root, d, "exec --preserve-fds 1 x1 true")
    assert.are.equal(2, rc, out)
    assert.truthy(out:find("exec: --preserve-fds 1: fd 3 is not open", 1, true), out)
  end)
end)
