-- Packaging: make install / uninstall into a DESTDIR, the man page, the
-- bash completion, and luarocks (make in the checkout, the source rock
-- from anywhere else).  Every installed copy is used from outside the
-- checkout: a Lua program requires the module from the install tree alone
-- and runs a jail with it.
local H = require "spec.support.helper"

local root = assert(H.sh("realpath " .. H.root)):gsub("\n$", "")
local busybox = root .. "/build/rootfs/busybox"

local function sh(cmd)
  local out, rc = H.sh(cmd)
  assert.are.equal(0, rc, cmd .. "\n" .. out)
  return out
end

-- every path under d (files and directories), relative, sorted
local function tree(d)
  local t = {}
  for l in sh(("cd %q && find . -mindepth 1 | LC_ALL=C sort"):format(d)):gmatch("[^\n]+") do
    t[#t + 1] = l:sub(3)
  end
  return t
end

-- a Lua program that requires cgsandbox with only the given paths and runs
-- a jail over the busybox root; run from / (not the checkout)
local function run_installed(lua_path, lua_cpath)
  local f = H.recipe_file(([[
    local sb = require "cgsandbox"
    local r = sb.run { rootfs = %q, command = { "/bin/echo", "hello from", sb.version },
                       stdio = { stdout = "capture" } }
    print(package.searchpath("cgsandbox", package.path), package.searchpath("cgsandbox.core", package.cpath))
    io.write(r.status, " ", r.stdout)
  ]]):format(busybox))
  local out = sh(("cd / && LUA_PATH=%q LUA_CPATH=%q lua5.4 %s"):format(lua_path, lua_cpath, f))
  os.remove(f)
  return out
end

describe("make install and uninstall", function()
  local dest
  before_each(function() dest = H.tmpdir() end)
  after_each(function() os.execute("rm -rf " .. dest) end)

  local function make(target)
    return sh(("make -s -C %q %s DESTDIR=%q PREFIX=/usr/local 2>&1"):format(root, target, dest))
  end

  it("puts the host, the module, the man page and the completion in place, and they work from there", function()
    make("install")
    local usr = dest .. "/usr/local"
    for f, mode in pairs {
      ["bin/sandboxlua"] = "755", ["lib/lua/5.4/cgsandbox/core.so"] = "755",
      ["share/lua/5.4/cgsandbox/init.lua"] = "644", ["share/lua/5.4/cgsandbox/recipe.lua"] = "644",
      ["share/lua/5.4/cgsandbox/units.lua"] = "644", ["share/lua/5.4/cgsandbox/host.lua"] = "644",
      ["share/lua/5.4/cgsandbox/json.lua"] = "644",
      ["share/man/man1/sandboxlua.1"] = "644", ["share/bash-completion/completions/sandboxlua"] = "644",
    } do
      assert.are.equal(mode .. "\n", sh(("stat -c %%a %q"):format(usr .. "/" .. f)), f)
    end
    -- every module of the tree, nothing else
    assert.are.equal(sh(("cd %q/lua/cgsandbox && ls"):format(root)), sh(("cd %q/share/lua/5.4/cgsandbox && ls"):format(usr)))
    assert.are.equal("", sh(("cmp %q/doc/sandboxlua.1 %q/share/man/man1/sandboxlua.1"):format(root, usr)))

    local out = run_installed(usr .. "/share/lua/5.4/?.lua;" .. usr .. "/share/lua/5.4/?/init.lua",
                              usr .. "/lib/lua/5.4/?.so")
    assert.are.equal(("%s/share/lua/5.4/cgsandbox/init.lua\t%s/lib/lua/5.4/cgsandbox/core.so\nexited hello from %s\n")
      :format(usr, usr, H.sb.version), out)

    -- the installed host runs a recipe too
    local f = H.recipe_file(("return { rootfs = %q, command = { '/bin/sh', '-c', 'echo jailed; exit 3' } }"):format(busybox))
    local o, rc = H.sh(("cd / && %s/bin/sandboxlua %s"):format(usr, f))
    os.remove(f)
    assert.are.equal(3, rc, o)
    assert.are.equal("jailed\n", o)
  end)

  it("uninstall leaves no file and no directory it made, and keeps what was there", function()
    -- what was there before: another page in man1, and an empty bin
    sh(("mkdir -p %q/usr/local/share/man/man1 %q/usr/local/bin && echo other > %q/usr/local/share/man/man1/other.1")
       :format(dest, dest, dest))
    local before = tree(dest)
    make("install")
    make("install") -- again: the second install must not forget what the first made
    assert.is_true(#tree(dest) > #before + 10)
    make("uninstall")
    assert.are.same(before, tree(dest))
    assert.are.equal("other\n", sh(("cat %q/usr/local/share/man/man1/other.1"):format(dest)))

    -- into an empty DESTDIR: nothing at all is left
    local empty = H.tmpdir()
    finally(function() os.execute("rm -rf " .. empty) end)
    sh(("make -s -C %q install DESTDIR=%q PREFIX=/usr/local"):format(root, empty))
    -- a file of someone else's in a directory install made keeps it (and its parents)
    sh(("echo x > %q/usr/local/share/bash-completion/completions/other"):format(empty))
    sh(("make -s -C %q uninstall DESTDIR=%q PREFIX=/usr/local"):format(root, empty))
    assert.are.same({ "usr", "usr/local", "usr/local/share", "usr/local/share/bash-completion",
                      "usr/local/share/bash-completion/completions",
                      "usr/local/share/bash-completion/completions/other" }, tree(empty))
  end)
end)

describe("the man page", function()
  local page = root .. "/doc/sandboxlua.1"

  it("renders without a warning (groff -ww, man --warnings)", function()
    assert.are.equal("", sh(("groff -man -ww -z %q 2>&1"):format(page)))
    assert.are.equal("", sh(("man --warnings -l %q 2>&1 >/dev/null"):format(page)))
    local text = sh(("MANWIDTH=80 man -l %q 2>/dev/null"):format(page))
    for _, s in ipairs { "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "THE RUN SUBCOMMAND", "RECIPES", "EXIT STATUS",
                         "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO" } do
      assert.truthy(text:find("\n" .. s .. "\n", 1, true), s)
    end
    for _, s in ipairs { "SANDBOXLUA_CGROUP", "bwrap(1)", "systemd-run(1)", "cgroups(7)", "namespaces(7)" } do
      assert.truthy(text:find(s, 1, true), s)
    end
  end)

  it("documents every option the host's --help names", function()
    local help = sh(H.bin .. " --help")
    local text = sh(("MANWIDTH=200 man -l %q 2>/dev/null"):format(page))
    local n = 0
    for opt in help:gmatch("%f[%w-](%-%-?[%a][%w-]*)") do
      assert.truthy(text:find("\n%s+" .. opt:gsub("%p", "%%%0") .. "[%s,]") or
                    text:find(", " .. opt:gsub("%p", "%%%0") .. "[%s\n]"), opt .. " is not in the man page")
      n = n + 1
    end
    assert.is_true(n >= 10, help)
  end)
end)

describe("the bash completion", function()
  -- complete the words (the last one is the one being typed) as bash would
  local function complete(...)
    local words = { ... }
    local quoted = {}
    for i, w in ipairs(words) do quoted[i] = ("%q"):format(w) end
    local script = H.recipe_file(([[
      source %q
      COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
      _sandboxlua sandboxlua "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
      printf '%%s\n' "${COMPREPLY[@]}"
      complete -p sandboxlua
    ]]):format(root .. "/completions/sandboxlua", table.concat(quoted, " "), #words - 1))
    local out = sh(("cd %q && bash --norc --noprofile %s"):format(root, script))
    os.remove(script)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal("complete -F _sandboxlua sandboxlua", table.remove(lines))
    table.sort(lines)
    return lines
  end

  it("completes the options of each form, --net's values, recipes and directories", function()
    assert.are.same({ "--junit" }, complete("sandboxlua", "--ju"))
    assert.are.same({ "--ro-bind", "--rootfs" }, complete("sandboxlua", "run", "--ro"))
    assert.are.same({ "host", "none" }, complete("sandboxlua", "run", "--net", ""))
    assert.are.same({ "host" }, complete("sandboxlua", "run", "--json", "x", "--net", "h"))
    -- run's options belong to run; the common ones are everywhere
    assert.are.same({}, complete("sandboxlua", "--ro"))
    assert.are.same({ "--check" }, complete("sandboxlua", "run", "--memory", "1G", "--ch"))
    assert.are.same({ "--print-recipe" }, complete("sandboxlua", "--check", "run", "--pri"))
    -- the subcommand, recipes (*.lua) and directories
    assert.are.same({ "run" }, complete("sandboxlua", "ru"))
    assert.are.same({ "examples/hello.lua" }, complete("sandboxlua", "examples/hel"))
    assert.are.same({ "README.md" }, complete("sandboxlua", "--json", "READ"))
    assert.are.same({ "README.md" }, complete("sandboxlua", "--junit", "=", "READ")) -- --junit=READ
    assert.are.same({ "examples" }, complete("sandboxlua", "run", "--rootfs", "exam"))
    assert.are.same({ "examples" }, complete("sandboxlua", "run", "--cwd", "exam"))
    -- after the recipe, its own arguments: no options of ours
    assert.are.same({}, complete("sandboxlua", "examples/hello.lua", "--ju"))
    assert.are.same({}, complete("sandboxlua", "run", "--", "ls", "--ju"))
  end)
end)

describe("luarocks", function()
  local function loads_from(tree_dir)
    local out = run_installed(tree_dir .. "/share/lua/5.4/?.lua;" .. tree_dir .. "/share/lua/5.4/?/init.lua",
                              tree_dir .. "/lib/lua/5.4/?.so")
    assert.are.equal(("%s/share/lua/5.4/cgsandbox/init.lua\t%s/lib/lua/5.4/cgsandbox/core.so\nexited hello from %s\n")
      :format(tree_dir, tree_dir, H.sb.version), out)
    assert.are.equal("sandboxlua " .. H.sb.version .. "\n", sh(("cd / && %s/bin/sandboxlua --version"):format(tree_dir)))
  end

  it("make, in the checkout, installs into a tree outside it", function()
    local t = H.tmpdir()
    finally(function() os.execute("rm -rf " .. t) end)
    sh(("cd %q && luarocks --lua-version 5.4 make --tree %q 2>&1"):format(root, t))
    loads_from(t)
    sh(("cd / && luarocks --lua-version 5.4 remove --tree %q sandboxlua 2>&1"):format(t))
    assert.is_nil(io.open(t .. "/bin/sandboxlua"))
  end)

  it("installs the source rock (make rock) from any directory, offline", function()
    local t, elsewhere = H.tmpdir(), H.tmpdir()
    finally(function() os.execute("rm -rf " .. t .. " " .. elsewhere) end)
    sh(("make -s -C %q rock 2>&1"):format(root))
    local rock = root .. "/build/rock/sandboxlua-0.1.0-1.src.rock"
    sh(("cd %q && luarocks --lua-version 5.4 install --tree %q %q 2>&1"):format(elsewhere, t, rock))
    loads_from(t)
    -- the rock holds the man page and the completion too
    assert.are.equal("", sh(("cmp %q/doc/sandboxlua.1 %q/lib/luarocks/rocks-5.4/sandboxlua/0.1.0-1/share/man/man1/sandboxlua.1")
                             :format(root, t)))
    assert.are.equal("", sh(("ls -A %q"):format(elsewhere))) -- nothing written where it ran
  end)
end)
