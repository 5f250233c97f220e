-- `sandboxlua oci COMMAND`: the OCI runtime's command line (loaded only
-- for it).  This slice has `spec` and `features`; create/start/state/...
-- come with the create/start split (issue 12).
local oci = require "cgsandbox.oci"

local M = {}

local USAGE = [[
usage: sandboxlua oci spec [--rootless] [--bundle DIR]
       sandboxlua oci features

  spec       write a default config.json (as runc spec does; args "sh") in
             DIR (default: the current directory)
  features   print what this runtime supports, as runc features does (JSON)

The other OCI runtime commands (create, start, state, kill, delete, run,
exec, ps, pause, resume, update, list) are not there yet.  See doc/oci.md.
]]

local function die(code, fmt, ...)
  io.stderr:write("sandboxlua oci: ", fmt:format(...), "\n")
  return code
end

local function native_arch()
  local f = io.open("/proc/sys/kernel/arch")
  local a = f and f:read("l")
  if f then f:close() end
  if not a then
    local p = io.popen("uname -m 2>/dev/null")
    a = p and p:read("l")
    if p then p:close() end
  end
  local map = { x86_64 = "SCMP_ARCH_X86_64", aarch64 = "SCMP_ARCH_AARCH64", i686 = "SCMP_ARCH_X86",
                armv7l = "SCMP_ARCH_ARM", ppc64le = "SCMP_ARCH_PPC64LE", s390x = "SCMP_ARCH_S390X",
                riscv64 = "SCMP_ARCH_RISCV64" }
  return map[a or ""]
end

-- the features document (runtime-spec features.md, as runc prints it):
-- only what the translation honours
function M.features()
  local sb = require "cgsandbox"
  local arr = function(t) return setmetatable(t, oci.array_mt) end
  local obj = function(t) return setmetatable(t, oci.object_mt) end
  local caps = {}
  for n in pairs(sb.core.cap_names()) do caps[#caps + 1] = "CAP_" .. n:upper() end
  table.sort(caps)
  local arch = native_arch()
  return obj {
    ociVersionMin = oci.VERSION_MIN,
    ociVersionMax = oci.VERSION_MAX,
    hooks = arr {},
    mountOptions = arr { table.unpack(oci.MOUNT_OPTIONS) },
    linux = obj {
      namespaces = arr { table.unpack(oci.NAMESPACES) },
      capabilities = arr(caps),
      cgroup = obj { v1 = false, v2 = true, systemd = false, systemdUser = false, rdma = true },
      seccomp = obj {
        enabled = true,
        actions = arr { table.unpack(oci.SECCOMP_ACTIONS) },
        operators = arr {},
        archs = arr { arch },
        knownFlags = arr {},
        supportedFlags = arr {},
      },
      apparmor = obj { enabled = false },
      selinux = obj { enabled = false },
      intelRdt = obj { enabled = false },
      mountExtensions = obj { idmap = obj { enabled = false } },
    },
    annotations = obj { ["org.sandboxlua.version"] = sb.version },
  }
end

local FEATURE_ORDER = { "ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "namespaces",
                        "capabilities", "cgroup", "seccomp", "enabled", "actions", "operators", "archs",
                        "apparmor", "selinux", "intelRdt", "annotations" }

local function spec(args)
  local rootless, bundle = false, "."
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--rootless" then rootless = true
    elseif a == "--bundle" or a == "-b" then
      i = i + 1
      bundle = args[i]
      if not bundle then return die(2, "spec: --bundle needs a directory") end
    elseif a:match("^%-%-bundle=") then bundle = a:sub(10)
    else return die(2, "spec: unknown argument %q (see sandboxlua oci --help)", a) end
    i = i + 1
  end
  local file = (bundle:gsub("/+$", "")) .. "/config.json"
  local f = io.open(file, "r")
  if f then
    f:close()
    return die(1, "%s exists: remove it first", file)
  end
  local core = require "cgsandbox.core"
  local c = oci.default_config(rootless, core.getuid(), core.getgid())
  local out, err = io.open(file, "w")
  if not out then return die(1, "%s", err) end
  out:write(oci.encode(c, oci.KEY_ORDER), "\n")
  out:close()
  return 0
end

function M.main(args)
  local cmd = args[1]
  if cmd == nil or cmd == "-h" or cmd == "--help" or cmd == "help" then
    io.stdout:write(USAGE)
    return cmd == nil and 2 or 0
  end
  local rest = table.move(args, 2, #args, 1, {})
  if cmd == "spec" then return spec(rest) end
  if cmd == "features" then
    if #rest > 0 then return die(2, "features takes no arguments") end
    io.stdout:write(oci.encode(M.features(), FEATURE_ORDER), "\n")
    return 0
  end
  local later = { create = true, start = true, state = true, kill = true, delete = true, run = true, exec = true,
                  ps = true, pause = true, resume = true, update = true, list = true, events = true,
                  checkpoint = true, restore = true }
  if later[cmd] then return die(2, "%s is not supported yet (spec and features are)", cmd) end
  return die(2, "unknown command %q (see sandboxlua oci --help)", cmd)
end

return M
