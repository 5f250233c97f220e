-- project-readonly: the current directory mounted read-only at /src, a
-- writable tmpfs scratch at /scratch; the command builds "out of tree".
--   sandboxlua examples/project-readonly.lua [-- 'shell command']
local cmd = ... or [[
echo "in /src (read-only):"; ls /src | head -5
touch /src/should-fail 2>&1 || echo "-> /src refuses writes, as it should"
cp -r /src/examples /scratch/ && echo "copied to /scratch: $(ls /scratch/examples | wc -l) files"
]]
local cwd = os.getenv("PWD") or "."
return {
  name = "project-readonly",
  rootfs = "build/rootfs/busybox",
  command = { "/bin/sh", "-c", cmd },
  cwd = "/src",
  mounts = {
    { "bind", cwd, "/src", ro = true },
    { "tmpfs", "/scratch", size = "64M" },
  },
  limits = { memory = "128M", pids = 32, wall = "60s", optional = true },
}
