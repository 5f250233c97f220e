-- Faults: a busy host killed with SIGKILL at a random moment (before its
-- first jail, during setup, while its jails run, in teardown).  Checked
-- through the kernel: every process of its jails is gone (each leaf it
-- left says populated 0, no command of its is alive), and the next host
-- to use the parent removes each leaf it left.
local H = require "spec.support.helper"

local ROUNDS = 10 -- of each kind: 20 kills

local function marker(n) return ("86%03d.5"):format(n) end

local function jobs_src(n)
  return ([[
    local jobs = {}
    for i = 1, 8 do
      local cmd = i %% 2 == 0 and ("echo quick " .. i .. "; sleep 0.0" .. i) or "exec sleep %s"
      jobs[i] = { name = "j" .. i, rootfs = %q, command = cmd, stdio = { stdout = "capture" } }
    end
  ]]):format(marker(n), H.busybox)
end

local function alive(n)
  return H.sh(("pgrep -f '^sleep %s$' || true"):format(marker(n))):match("%d") ~= nil
end

local function leaves_of(parent, pid)
  local out = H.sh(("(find %s -maxdepth 1 -name 'sbx-%s-*' 2>/dev/null)"):format(parent, pid))
  local t = {}
  for l in out:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local function populated(leaf)
  local f = io.open(leaf .. "/cgroup.events")
  if not f then return false end -- removed meanwhile: empty
  local s = f:read("a")
  f:close()
  return s:find("populated 1", 1, true) ~= nil
end

-- moments spread from 0 to 0.36 s after the start, with jitter; returns
-- the pid, the delay, and whether its jails were running when it died
local function kill_at_random(start, n)
  local delay = ((n - 1) % 5) * 0.08 + math.random() * 0.04
  local pid = H.sh(("%s >/dev/null 2>&1 & sleep %.3f; echo $!"):format(start, delay)):match("%d+")
  local running = alive(n)
  H.sh("kill -KILL " .. pid)
  -- gone (a zombie until its parent, the shell that started it, is reaped)
  for _ = 1, 200 do
    local st = H.sh("ps -p " .. pid .. " -o stat= || true")
    if not st:match("%u") or st:match("^Z") then break end
    H.sh("sleep 0.01")
  end
  return pid, delay, running
end

local function check_after(pid, n, delay)
  local parent = H.core.cgroup_parent()
  -- every jail of the killed host ends: the kernel says its leaves are
  -- empty and no command of it runs
  local busy
  for _ = 1, 300 do
    busy = alive(n)
    for _, l in ipairs(leaves_of(parent, pid)) do busy = busy or populated(l) end
    if not busy then break end
    H.sh("sleep 0.01")
  end
  if busy then -- end what it left, so that a failure costs no more than itself
    for _, l in ipairs(leaves_of(parent, pid)) do H.sh(("echo 1 > %s/cgroup.kill 2>/dev/null"):format(l)) end
  end
  assert.is_false(busy, ("round %d: a jail outlived its host killed after %.3f s"):format(n, delay))
  -- the next host reaps what it left
  local f = H.recipe_file(([[return { rootfs = %q, command = "true" }]]):format(H.busybox))
  local out, rc = H.sh(("%s %s 2>&1"):format(H.bin, f))
  os.remove(f)
  assert.are.equal(0, rc, out)
  local left = leaves_of(parent, pid)
  assert.are.equal(0, #left, ("round %d (killed after %.3f s): left %s"):format(n, delay, table.concat(left, " ")))
end

-- the moment its first leaf appears: the host is sending plans to jails
-- whose init has not armed its parent-death signal yet (the window where
-- only the hang-up on init's socket, and the command's release byte, tell
-- them the host is gone)
local function kill_at_first_leaf(start, n)
  local parent = H.core.cgroup_parent()
  local out = H.sh(([[%s >/dev/null 2>&1 & p=$!; i=0
    until ls -d %s/sbx-$p-* >/dev/null 2>&1 || [ $i -ge 3000 ]; do i=$((i+1)); done
    kill -KILL $p; echo $p $i]]):format(start, parent))
  local pid, spins = out:match("(%d+) (%d+)")
  assert.is_true(tonumber(spins) < 3000, "round " .. n .. ": no leaf appeared")
  for _ = 1, 200 do
    local st = H.sh("ps -p " .. pid .. " -o stat= || true")
    if not st:match("%u") or st:match("^Z") then break end
    H.sh("sleep 0.01")
  end
  return pid, 0, true
end

-- rounds first..last: start(n) writes the host's program, returns it and
-- how to run it; kill (kill_at_random by default) ends it
local function rounds(first, last, start, kill)
  local busy = 0
  for n = first, last do
    local f, cmd = start(n)
    local pid, delay, running = (kill or kill_at_random)(cmd, n)
    check_after(pid, n, delay)
    os.remove(f)
    if running then busy = busy + 1 end
  end
  -- most kills hit a host whose jails ran (the others: during setup)
  local total = last - first + 1
  assert.is_true(busy >= total / 2, ("only %d of %d kills hit running jails"):format(busy, total))
end

describe("a busy host killed with SIGKILL", function()
  it(("leaves nothing behind, %d times: the CLI with a job list of 8"):format(ROUNDS), function()
    rounds(1, ROUNDS, function(n)
      local f = H.recipe_file(jobs_src(n) .. "return { parallel = 8, jobs = jobs }")
      return f, ("%s -q %s"):format(H.bin, f)
    end)
  end)

  it(("leaves nothing behind, %d times: the CLI with 32 jails, killed as they start"):format(3 * ROUNDS), function()
    rounds(2 * ROUNDS + 1, 5 * ROUNDS, function(n)
      local f = H.recipe_file(([[
        local jobs = {}
        for i = 1, 32 do jobs[i] = { rootfs = %q, command = "exec sleep %s" } end
        return { parallel = 32, jobs = jobs }]]):format(H.busybox, marker(n)))
      return f, ("%s -q %s"):format(H.bin, f)
    end, kill_at_first_leaf)
  end)

  it(("leaves nothing behind, %d times: a Lua program in run_all of 8"):format(ROUNDS), function()
    rounds(ROUNDS + 1, 2 * ROUNDS, function(n)
      local f = H.lua_script(jobs_src(n) .. "sb.run_all(jobs, { parallel = 8 })")
      return f, ("%s %s"):format(H.lua, f)
    end)
  end)
end)
