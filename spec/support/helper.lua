-- Shared by the specs: paths, the module under test, jail runners, and
-- probes of the host that check effects through the kernel.
local H = {}

H.root = os.getenv("SBX_ROOT") or "."
package.path = H.root .. "/lua/?.lua;" .. H.root .. "/lua/?/init.lua;" .. package.path
-- the module and the host under test: build/, or a sanitizer build
-- (SBX_BUILD=build/asan, make check-asan)
H.build = os.getenv("SBX_BUILD") or H.root .. "/build"
package.cpath = H.build .. "/?.so;" .. package.cpath
H.sb = require "cgsandbox"
H.core = require "cgsandbox.core"
H.bin = H.build .. "/sandboxlua"
-- the interpreter for Lua scripts the specs start (build/asan/lua5.4 there)
H.lua = os.getenv("SBX_LUA") or "lua5.4"
H.busybox = H.root .. "/build/rootfs/busybox"

function H.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"SBXRC=$?\""))
  local out = p:read("a")
  p:close()
  local body, rc = out:match("^(.-)SBXRC=(%d+)\n$")
  return body, tonumber(rc)
end

-- a whole file's bytes (raises when it cannot be read)
function H.read(f)
  local fh = assert(io.open(f, "rb"))
  local s = fh:read("a")
  fh:close()
  return s
end

-- a whole file's bytes, or nil when it cannot be read (a /proc file of a
-- process that ended, a file not there yet): the library's own reader
H.read_maybe = require("cgsandbox.files").read

function H.exists(path) return os.execute("test -e '" .. path .. "'") == true end

function H.trim(s) return (s:gsub("%s+$", "")) end

-- the inode of what path names, links followed (a file, /proc/PID/ns/net)
function H.inode(path) return H.trim(H.sh("stat -L -c %i " .. path)) end

-- is prog on PATH?
function H.have(prog) return select(2, H.sh("command -v " .. prog .. " >/dev/null")) == 0 end

-- is pid a live process (not gone, not a zombie)?
function H.alive(pid)
  local s = H.read_maybe("/proc/" .. pid .. "/stat")
  return s ~= nil and not s:match("^%d+ %b() Z")
end

-- poll fn until it is true or secs (default 5) pass; its last answer
function H.wait_for(fn, secs)
  local t = H.core.now() + (secs or 5)
  while H.core.now() < t do
    if fn() then return true end
    H.core.sleep(0.02)
  end
  return fn()
end

-- write a whole file (raises when it cannot be written)
function H.write(f, s)
  local fh = assert(io.open(f, "w"))
  fh:write(s)
  fh:close()
end

-- the first real block device of this machine (not loop/ram/zram, size >
-- 0): "MAJ:MIN", "/dev/NAME"; nil when it has none
function H.blockdev()
  local out = H.sh("for d in /sys/block/*; do n=${d##*/}; case $n in loop*|ram*|zram*) continue;; esac; " ..
                   "[ \"$(cat $d/size)\" -gt 0 ] && [ -b /dev/$n ] && { echo \"$(cat $d/dev) /dev/$n\"; break; }; done")
  return out:match("^(%d+:%d+) (%S+)")
end

-- a fresh empty directory; the caller removes it (os.execute("rm -rf " .. d))
function H.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

-- a recipe file (world-readable, for rootless hosts); the caller removes it
function H.recipe_file(src)
  local f = os.tmpname()
  local fh = assert(io.open(f, "w"))
  fh:write(src)
  fh:close()
  os.execute("chmod 644 " .. f)
  return f
end

-- run the host on a recipe given as Lua source; returns stdout+stderr, rc
-- a Lua program using cgsandbox from this tree (its module from build, by
-- default H.build), in a temporary file; body may use `sb`
function H.lua_script(body, build)
  return H.recipe_file(("package.path = %q .. package.path\npackage.cpath = %q .. package.cpath\n"
                        .. "local sb = require \"cgsandbox\"\n")
                       :format(H.root .. "/lua/?.lua;" .. H.root .. "/lua/?/init.lua;",
                               (build or H.build) .. "/?.so;") .. body)
end

-- the message of the RecipeError that compiling r raises
function H.recipe_error(r)
  local ok, e = pcall(H.sb.compile, r)
  assert(not ok, "expected a recipe error")
  assert(getmetatable(e) == H.sb.RecipeError, "expected a RecipeError, got " .. tostring(e))
  return e.message
end

function H.host(src, args, opts)
  local f = H.recipe_file(src)
  local out, rc = H.sh(("%s %s %s -- %s"):format(H.bin, opts or "", f, args or ""))
  os.remove(f)
  return out, rc
end

-- a recipe over the busybox rootfs with a shell command
function H.bb(cmd, extra)
  local r = { rootfs = H.busybox, command = { "/bin/sh", "-c", cmd },
              stdio = { stdout = "capture", stderr = "capture" } }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- a recipe over the busybox rootfs with the hog payload (build/spec) at /mnt
function H.job(argv, extra)
  local r = { rootfs = H.busybox, command = argv,
              mounts = { { "bind", H.root .. "/build/spec", "/mnt", ro = true } },
              stdio = { stdout = "capture", stderr = "capture" } }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

function H.run(cmd, extra)
  return H.sb.run(H.bb(cmd, extra))
end

-- open fds of this process, as "fd -> target" lines (the listing's own fd
-- excluded), so a leak shows what leaked
function H.fds()
  collectgarbage("collect")
  H.sb.settle()
  local dir = "/proc/" .. H.core.getpid() .. "/fd"
  -- the popen pipe we read through is the shell's own stdout: skip it
  local out = H.sh("me=$(readlink /proc/$$/fd/1); for f in " .. dir ..
                   "/*; do t=$(readlink $f); [ \"$t\" = \"$me\" ] || echo \"${f##*/} -> $t\"; done")
  local keep = {}
  for l in out:gmatch("[^\n]+") do
    if not l:find("-> $", 1) then keep[#keep + 1] = l end
  end
  return table.concat(keep, "\n")
end

function H.mounts()
  local f = assert(io.open("/proc/self/mountinfo"))
  local s = f:read("a")
  f:close()
  return s
end

-- cgroup leaves of ours that still exist (sbx-<pid>-...)
function H.leaves(parent)
  H.sb.settle()
  parent = parent or select(1, H.core.cgroup_parent())
  -- (no parent yet is no leaf: find's complaint is not one)
  local out = H.sh(("(find %s -maxdepth 1 -name 'sbx-%d-*' 2>/dev/null)"):format(parent, H.core.getpid()))
  local n = 0
  for _ in out:gmatch("[^\n]+") do n = n + 1 end
  return n
end

-- processes whose parent is us (the busted process)
function H.children()
  H.sb.settle()
  local out = H.sh("ps -o pid= --ppid " .. H.core.getpid())
  local n = 0
  for l in out:gmatch("[^\n]+") do
    if not l:match("^%s*$") then n = n + 1 end
  end
  return n - 1 -- the ps itself
end

-- are v2 controllers usable here (natively, or in the test VM)?
function H.cgroup_v2(ctl)
  local parent = H.core.cgroup_parent()
  if not parent then return false end
  local mnt = H.core.cgroup_mountpoint()
  local f = io.open((parent:match("^(.*)/[^/]+$") or mnt) .. "/cgroup.controllers")
          or io.open(mnt .. "/cgroup.controllers")
  if not f then return false end
  local s = f:read("a")
  f:close()
  return s:find(ctl or "memory", 1, true) ~= nil
end

return H
