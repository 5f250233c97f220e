-- hello: the host's own / read-only, a private tmpfs /tmp, its own
-- hostname, pids, network and mounts.
--   sandboxlua examples/hello.lua [-- words...]
local words = table.concat({ ... }, " ")
return {
  name = "hello",
  hostname = "hello-jail",
  command = { "/bin/sh", "-c", [[
echo "hello from $(hostname), pid $$${1:+: $1}"
echo "processes I can see:"; ps -e -o pid,comm 2>/dev/null || ls /proc | grep -E '^[0-9]+$'
echo "my cgroup (a namespace rooted at my own leaf): $(grep "^0::" /proc/self/cgroup)"
touch /etc/x 2>&1 || true
echo scratch > /tmp/note && echo "wrote /tmp/note"
]], "hello", words ~= "" and words or nil },
  mounts = { { "tmpfs", "/tmp", size = "16M" } },
  limits = { pids = 32, memory = "64M", optional = true, wall = "10s" },
}
