-- Shared by the OCI runtime's specs: busybox bundles, the runtime run as
-- an engine runs it (stdio a file, not a pipe), its state, and waits.
local H = require "spec.support.helper"
local oci = require "cgsandbox.oci"

local O = {}

local function absolute(p) return p:sub(1, 1) == "/" and p or (os.getenv("PWD") .. "/" .. p:gsub("^%./", "")) end
O.BUSYBOX = absolute(H.busybox)
-- the host binary by an absolute path: the runtime runs from the bundle
O.BIN = absolute(H.bin)
O.RT = O.BIN .. " oci"

O.read = H.read_maybe

O.exists = H.exists

-- a bundle whose process runs cmd (sh -c), with a host directory at /mnt
-- (a directory every busybox rootfs has); edit(config) may change the
-- config before it is written
function O.bundle(cmd, edit, dir)
  local d = dir or H.tmpdir()
  local out, rc = H.sh(O.RT .. " spec --bundle " .. d)
  assert(rc == 0, out)
  local c = assert(oci.load(d))
  c.process.terminal = false
  c.process.args = setmetatable({ "sh", "-c", cmd }, oci.array_mt)
  c.root.path = O.BUSYBOX
  os.execute("mkdir -p " .. d .. "/out")
  c.mounts[#c.mounts + 1] = setmetatable({ destination = "/mnt", type = "bind", source = d .. "/out",
    options = setmetatable({ "rbind", "rw" }, oci.array_mt) }, oci.object_mt)
  if edit then edit(c, d) end
  H.write(d .. "/config.json", oci.encode(c, oci.KEY_ORDER))
  return d
end

O.wait_for = H.wait_for

function O.alive(pid)
  local s = O.read("/proc/" .. pid .. "/status")
  return s ~= nil and not s:match("\nState:%s+Z"), s
end

-- `<runtime> --root R CMD` in dir: output, rc.  Its stdio is a file, not
-- H.sh's pipe: a container's init keeps the stdio it was created with
-- (the container's), so a pipe would stay open until the container ends
function O.rt(bin, root, dir, args)
  local f = os.tmpname()
  local _, rc = H.sh(("cd %s && %s --root %s %s </dev/null >%s 2>&1"):format(dir, bin, root, args, f))
  local out = O.read(f)
  os.remove(f)
  return out, rc
end

function O.ours(root, dir, args) return O.rt(O.RT, root, dir, args) end

function O.state(bin, root, dir, id)
  local out, rc = O.rt(bin, root, dir, "state " .. id)
  if rc ~= 0 then return nil, rc end
  return assert(oci.decode(out, "state"))
end

-- what create saved (the cgroup's path is ours, not runc's)
function O.saved(root, id)
  local text = O.read(root .. "/" .. id .. "/state.json")
  return text and assert(oci.decode(text, "state.json"))
end

return O
