-- podman for the specs, with sandboxlua as its OCI runtime, offline and
-- with every path of its own: a CONTAINERS_CONF, --root/--runroot/--tmpdir
-- in a temporary directory, the busybox rootfs imported as an image, and
-- the containers' cgroups below a parent named after this process.
-- Nothing of the machine's own podman (/var/lib/containers, /run/containers)
-- is read or written, and stop() removes what podman and conmon left, by pid.
--
--   local PM = require("spec.support.podman")
--   local pm = assert(PM.start())        -- nil, why when podman is missing
--   local out, rc = pm:podman("run --rm " .. pm:flags() .. " " .. pm.image .. " echo hi")
--   pm:stop()
local H = require "spec.support.helper"

local M = {}

local have, read, alive = H.have, H.read_maybe, H.alive
M.read = read

local function abs(p)
  if p:sub(1, 1) == "/" then return p end
  return os.getenv("PWD") .. "/" .. p
end

-- the runtime an engine calls by path: the host binary by its OCI name
M.RUNTIME = abs(H.build .. "/sandboxlua-oci")

-- a cgroup2 controller this host has on its cgroup2 mount
local function v2_has(controller)
  local c = read(H.core.cgroup_mountpoint() .. "/cgroup.controllers") or ""
  return (" " .. c:gsub("%s+", " ") .. " "):find(" " .. controller .. " ", 1, true) ~= nil
end
M.v2_has = v2_has

-- processes whose command line holds s: { pid = cmdline }
local function procs_with(s)
  local found = {}
  local out = H.sh("ls /proc")
  for pid in out:gmatch("(%d+)\n") do
    local cl = read("/proc/" .. pid .. "/cmdline")
    if cl and cl:find(s, 1, true) and tonumber(pid) ~= H.core.getpid() then
      found[tonumber(pid)] = cl:gsub("%z", " ")
    end
  end
  return found
end
M.procs_with = procs_with

-- TERM, then KILL, one pid
local function stop_pid(pid)
  if not alive(pid) then return end
  H.sh("kill -TERM " .. pid .. " 2>/dev/null")
  for _ = 1, 50 do
    if not alive(pid) then return end
    H.sh("sleep 0.1")
  end
  H.sh("kill -KILL " .. pid .. " 2>/dev/null")
end
M.stop_pid = stop_pid

-- every mount below dir, deepest first, detached
local function umount_below(dir)
  local mi = read("/proc/self/mountinfo") or ""
  local mps = {}
  for mp in mi:gmatch("%d+ %d+ %S+ %S+ (%S+)") do
    if mp:sub(1, #dir + 1) == dir .. "/" then mps[#mps + 1] = mp end
  end
  table.sort(mps, function(a, b) return #a > #b end)
  for _, mp in ipairs(mps) do H.sh("umount -l '" .. mp .. "' 2>/dev/null") end
end
M.umount_below = umount_below

-- a cgroup subtree named name in every hierarchy (the cgroup2 mount and,
-- on a hybrid host, the v1 ones), removed leaves first
local function rm_cgroups(name)
  H.sh(("for d in /sys/fs/cgroup/%s /sys/fs/cgroup/*/%s; do [ -d \"$d\" ] && "
    .. "find \"$d\" -depth -type d -exec rmdir {} + 2>/dev/null; done; true"):format(name, name))
end
M.rm_cgroups = rm_cgroups

local Podman = {}
Podman.__index = Podman

-- `podman ARGS` with this instance's paths and runtime (opts.runtime: another
-- one, e.g. a wrapper; opts.stdin: a file for its stdin), from dir; stdio in a file: a detached container's
-- conmon keeps what podman had, and a pipe would stay open until it ends
function Podman:podman(args, opts)
  opts = opts or {}
  local f = self.dir .. "/out." .. tostring(H.core.now()):gsub("%.", "")
  local cmd = ("cd %s && CONTAINERS_CONF=%s podman --root %s/root --runroot %s/runroot --tmpdir %s/tmp "
    .. "--runtime %s %s <%s >%s 2>&1"):format(opts.cwd or self.dir, self.conf, self.dir, self.dir,
    self.dir, opts.runtime or M.RUNTIME, args, opts.stdin or "/dev/null", f)
  local _, rc = H.sh(cmd)
  local out = read(f) or ""
  os.remove(f)
  return out, rc
end

-- `podman rm ARGS`, again while podman's own removal of the container's
-- /dev/shm mount point fails with EBUSY.  Podman 4.3 here hits this with
-- any runtime (runc: 4 in 40 stop+rm of a --uidmap container, sandboxlua
-- 7 in 45, every retry at once clean), podman's known flake #11594: the
-- runtime has been done with the container before podman's rm starts, so
-- only this one message is retried; anything else is returned as it came.
local SHM_BUSY = "userdata/shm: device or resource busy"
function Podman:rm(args)
  local out, rc
  for _ = 1, 5 do
    out, rc = self:podman("rm " .. args)
    if rc == 0 or not out:find(SHM_BUSY, 1, true) then break end
    H.sh("sleep 0.2")
  end
  return out, rc
end

-- the flags every container of the specs gets:
--   --cgroup-parent: this instance's own subtree, removed by stop()
--   --network none: podman's default network is a CNI bridge, which
--     depends on the host's firewall and plugins; the join of a
--     network namespace by path (what that network comes down to for
--     the runtime) has its own spec, with --network ns:PATH
--   --pids-limit -1 where the cgroup2 mount has no pids controller (a
--     hybrid host such as this one: the limit cannot be set there, and
--     sandboxlua refuses rather than drop it); podman's default of 2048 is
--     kept where it can be honoured (the VM)
function Podman:flags()
  return self:base_flags() .. " --network none"
end

-- the flags without a network choice
function Podman:base_flags()
  local f = "--cgroup-parent " .. self.parent
  if not v2_has("pids") then f = f .. " --pids-limit -1" end
  return f
end

-- the container's cgroup directory, as the kernel has it
function Podman:cgroup_of(id)
  return H.core.cgroup_mountpoint() .. self.parent .. "/libpod-" .. id
end

-- a runtime script in this instance's directory that runs sandboxlua-oci
-- with flags first (--root, --policy): podman passes its --runtime-flag
-- options to some calls but not to the cleanup's delete, so a wrapper is
-- how a runtime gets flags on every call
function M.wrapper(path, flags)
  H.write(path, ("#!/bin/sh\nexec %s %s \"$@\"\n"):format(M.RUNTIME, flags))
  assert(os.execute("chmod 755 " .. path))
  return path
end

function Podman:wrapper(name, flags) return M.wrapper(self.dir .. "/" .. name, flags) end

function Podman:stop()
  if self.stopped then return end
  self.stopped = true
  local ids = self:podman("ps -aq --no-trunc")
  self:podman("rm -af -t 0")
  -- what podman could not remove: the runtime's containers, conmon
  for id in ids:gmatch("(%x+)\n") do
    H.sh(("%s delete --force %s </dev/null >/dev/null 2>&1"):format(M.RUNTIME, id))
  end
  for pid in pairs(procs_with(self.dir)) do stop_pid(pid) end
  umount_below(self.dir)
  if not os.getenv("SBX_KEEP_PODMAN") then os.execute("rm -rf " .. self.dir) end
  rm_cgroups(self.parent:sub(2))
end

-- start() -> podman | nil, why
function M.start()
  for _, p in ipairs { "podman", "conmon", "tar" } do
    if not have(p) then return nil, p .. " is not installed (make test-deps installs podman and conmon)" end
  end
  local dir = H.tmpdir()
  os.execute("chmod 700 " .. dir)
  for _, d in ipairs { "root", "runroot", "tmp" } do assert(os.execute("mkdir " .. dir .. "/" .. d)) end
  local pm = setmetatable({ dir = dir, conf = dir .. "/containers.conf", image = "localhost/sbxspec-busybox",
                            parent = ("/sbxspec-podman-%d"):format(H.core.getpid()) }, Podman)
  -- offline, cgroupfs (no systemd here), events in a file (no journald);
  -- this host's ulimits are below podman's defaults; no pids limit where
  -- the cgroup2 mount has no pids controller (for a pod's infra container
  -- too, which takes no --pids-limit; see flags())
  H.write(pm.conf, table.concat({
    "[containers]",
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    v2_has("pids") and "" or "pids_limit = 0",
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    'image_default_transport = "containers-storage:"',
    "[engine.runtimes]",
    ('sandboxlua = ["%s"]'):format(M.RUNTIME),
    "",
  }, "\n"))
  local _, rrc = H.sh("scripts/rootfs-busybox " .. H.busybox .. " >/dev/null")
  if rrc ~= 0 then return nil, "scripts/rootfs-busybox failed" end
  local _, trc = H.sh(("tar -C %s -cf %s/busybox.tar ."):format(H.busybox, dir))
  if trc ~= 0 then return nil, "tar of the busybox rootfs failed" end
  local out, rc = pm:podman(("import %s/busybox.tar %s"):format(dir, pm.image))
  if rc ~= 0 then
    pm:stop()
    return nil, "podman import: " .. out
  end
  return pm
end

return M
