package = "sandboxlua"
version = "0.1.0-1"
-- `luarocks make` builds the tree it runs in (luarocks never fetches or
-- changes directory for make): run it in the checkout,
--   cd sandboxlua && luarocks --lua-version 5.4 make [--tree DIR]
-- From anywhere else, install the source rock `make rock` builds:
--   luarocks --lua-version 5.4 install [--tree DIR] .../build/rock/sandboxlua-0.1.0-1.src.rock
-- (`luarocks build` of this file clones the checkout it runs in: its commits)
source = { url = "git+file://." }
description = {
  summary = "Lua-scriptable Linux sandbox: namespaces, cgroup v2, seccomp, io_uring supervisor",
  detailed = [[
cgsandbox exposes Linux isolation primitives (namespaces, cgroup v2 with
CLONE_INTO_CGROUP, pivot_root, capabilities, seccomp, an io_uring supervisor)
to Lua 5.4; sandboxlua runs recipes written in Lua.]],
  license = "MIT",
}
supported_platforms = { "linux" }
dependencies = { "lua >= 5.4" }
external_dependencies = {
  LIBCAP = { header = "sys/capability.h" },
  LIBURING = { header = "liburing.h" },
  LIBSECCOMP = { header = "seccomp.h" },
}
build = {
  type = "make",
  build_target = "all",
  install_target = "install",
  build_variables = { CFLAGS = "$(CFLAGS)", LUA_VERSION = "5.4" },
  install_variables = {
    PREFIX = "$(PREFIX)", BINDIR = "$(BINDIR)", LUADIR = "$(LUADIR)", LIBDIR = "$(LIBDIR)",
    LUA_VERSION = "5.4",
  },
}
