-- busybox-shell: a shell in a busybox rootfs (build it with
-- `scripts/rootfs-busybox build/rootfs/busybox`, or `make demo`).
--   sandboxlua examples/busybox-shell.lua            (interactive)
--   sandboxlua examples/busybox-shell.lua -- 'ls /'   (one command)
local cmd = ...
return {
  name = "busybox-shell",
  rootfs = "build/rootfs/busybox",
  hostname = "busybox",
  command = cmd and { "/bin/sh", "-c", cmd } or { "/bin/sh", "-i" },
  tty = not cmd,  -- interactive: a console with job control; Ctrl-C stays in the jail
  env = { PATH = "/bin:/sbin:/usr/bin:/usr/sbin", HOME = "/root", PS1 = "jail# ",
          TERM = os.getenv("TERM") or "dumb" },
  cwd = "/root",
  mounts = { { "tmpfs", "/tmp", size = "64M" }, { "tmpfs", "/root", size = "16M" } },
  limits = { memory = "256M", pids = 64, optional = true },
}
