-- A containerd daemon for the specs, started by the spec with its own
-- config, root, state and sockets in a temporary directory, and stopped by
-- the pid it started.  Containers run through containerd's runc shim
-- (io.containerd.runc.v2) with sandboxlua as the runc binary, in a
-- namespace named after this process.  The image comes from the busybox
-- rootfs through podman (import, save as a docker archive), then `ctr
-- images import`: all offline.
--
--   local CD = require("spec.support.containerd")
--   local cd = assert(CD.start())   -- nil, why when containerd is missing
--   local out, rc = cd:ctr("run --rm " .. cd:flags() .. " " .. cd.image .. " c1 echo hi")
--   cd:stop()
local H = require "spec.support.helper"
local PM = require "spec.support.podman"

local M = {}

local read = PM.read

local have = H.have

local Containerd = {}
Containerd.__index = Containerd

-- `ctr -a SOCK -n NS ARGS`, stdio in a file (a detached task's shim
-- keeps what ctr had)
function Containerd:ctr(args)
  local f = self.dir .. "/out." .. tostring(H.core.now()):gsub("%.", "")
  local _, rc = H.sh(("cd %s && timeout 60 ctr -a %s -n %s %s </dev/null >%s 2>&1")
    :format(self.dir, self.sock, self.ns, args, f))
  local out = read(f) or ""
  os.remove(f)
  return out, rc
end

-- the flags of `ctr run`:
--   --runc-binary: sandboxlua, by its OCI name
--   --cpu-shares 0 where the cgroup2 mount has no cpu controller (a
--     hybrid host such as this one): ctr's default of 1024 would be a
--     cpu.weight sandboxlua cannot write there, and it refuses rather
--     than drop it; the default is kept where it can be honoured
function Containerd:flags()
  local f = "--runc-binary " .. PM.RUNTIME
  if not PM.v2_has("cpu") then f = f .. " --cpu-shares 0" end
  return f
end

-- ctr names the container's cgroup /NAMESPACE/ID
function Containerd:cgroup_of(id)
  return H.core.cgroup_mountpoint() .. "/" .. self.ns .. "/" .. id
end

function Containerd:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid and PM.procs_with(self.dir)[self.pid] then
    local tasks = self:ctr("task ls -q")
    for id in tasks:gmatch("(%S+)\n") do
      self:ctr("task kill -s KILL " .. id)
      self:ctr("task rm -f " .. id)
    end
    for id in self:ctr("containers ls -q"):gmatch("(%S+)\n") do self:ctr("containers rm " .. id) end
  end
  if self.pid then PM.stop_pid(self.pid) end
  -- shims (their command line names the daemon's socket, in dir), then what the
  -- runtime kept of them under the shim's --root
  for pid in pairs(PM.procs_with(self.dir)) do PM.stop_pid(pid) end
  local rroot = "/run/containerd/runc/" .. self.ns
  for _, id in ipairs(H.core.listdir(rroot) or {}) do
    H.sh(("%s --root %s delete --force %s </dev/null >/dev/null 2>&1"):format(PM.RUNTIME, rroot, id))
  end
  H.sh("rmdir " .. rroot .. " /run/containerd/runc /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null")
  PM.umount_below(self.dir)
  if not os.getenv("SBX_KEEP_CONTAINERD") then os.execute("rm -rf " .. self.dir) end
  PM.rm_cgroups(self.ns)
end

-- start() -> containerd | nil, why
function M.start()
  for _, p in ipairs { "containerd", "ctr", "containerd-shim-runc-v2" } do
    if not have(p) then return nil, p .. " is not installed (make test-deps installs containerd)" end
  end
  local dir = H.tmpdir()
  os.execute("chmod 711 " .. dir)
  local c = setmetatable({ dir = dir, sock = dir .. "/containerd.sock", ns = ("sbxspec%d"):format(H.core.getpid()),
                           image = "localhost/sbxspec-busybox:latest" }, Containerd)
  H.write(dir .. "/config.toml", table.concat({
    "version = 2",
    ('root = "%s/root"'):format(dir),
    ('state = "%s/state"'):format(dir),
    -- no CRI (no kubelet here), no tracing exporters
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.tracing.processor.v1.otlp", '
      .. '"io.containerd.internal.v1.tracing"]',
    "[grpc]", ('  address = "%s"'):format(c.sock),
    "[ttrpc]", ('  address = "%s.ttrpc"'):format(c.sock),
    "[debug]", ('  address = "%s/debug.sock"'):format(dir),
    "[metrics]", '  address = ""',
    "",
  }, "\n"))
  local out = H.sh(("containerd --config %s/config.toml >%s/containerd.log 2>&1 </dev/null & echo $!"):format(dir, dir))
  c.pid = math.tointeger(tonumber(out:match("(%d+)%s*$")))
  local up = false
  for _ = 1, 100 do
    local _, rc = H.sh(("ctr -a %s version >/dev/null 2>&1"):format(c.sock))
    if rc == 0 then up = true break end
    H.core.sleep(0.05)
  end
  if not up then
    local log = read(dir .. "/containerd.log") or ""
    c:stop()
    return nil, "containerd did not start: " .. log:sub(-2000)
  end
  -- the image: the busybox rootfs through podman, as a docker archive
  local pm, why = PM.start()
  if not pm then
    c:stop()
    return nil, why
  end
  local sout, src = pm:podman(("save --format docker-archive -o %s/busybox.tar %s"):format(dir, pm.image))
  pm:stop()
  if src ~= 0 then
    c:stop()
    return nil, "podman save: " .. sout
  end
  local iout, irc = c:ctr(("images import %s/busybox.tar"):format(dir))
  if irc ~= 0 then
    c:stop()
    return nil, "ctr images import: " .. iout
  end
  return c
end

return M
