-- Fuzz harness: the recipe compiler (sb.compile, compile_job) and the C plan
-- reader behind it.  Oracles: compile either returns a typed plan or raises
-- a RecipeError naming a field; never any other error, never a hang (the
-- fuzzer's -timeout); a plan it returns is one core.plan_bytes accepts,
-- as a plan and as a pool's job.
local sb = require "cgsandbox"
local V = require "luaval"
local core = sb.core
local opts = { getuid = function() return 0 end, getenv = function() return nil end }

-- keep a RecipeError as it is; anything else with where it came from
local function handler(e)
  if getmetatable(e) == sb.RecipeError then return e end
  return debug.traceback(tostring(e), 2)
end

local function recipe_error(e, what)
  if getmetatable(e) ~= sb.RecipeError then
    error(what .. " raised a plain error: " .. tostring(e), 0)
  end
  local m = tostring(e.message)
  if not m:find("^recipe") and not m:find("^job") then
    error(what .. " gave a RecipeError that names no field: " .. m, 0)
  end
  -- one readable line: no control characters, the user's strings escaped
  if m:find("%c") then error(what .. " gave a RecipeError that is not one readable line: " .. m, 0) end
end

return function(bytes)
  local r, sel = V.decode(bytes)
  if sel % 4 == 0 then
    local ok, e = xpcall(sb.recipe.compile_job, handler, r, opts)
    if not ok then recipe_error(e, "compile_job") end
    return
  end
  local ok, plan = xpcall(sb.compile, handler, r, opts)
  if not ok then return recipe_error(plan, "compile") end
  if getmetatable(plan) ~= sb.recipe.Plan then error("compile returned an untyped plan", 0) end
  for _, mode in ipairs { false, "job" } do
    local ok2, b, msg = pcall(core.plan_bytes, plan, mode or nil)
    if not ok2 or not b then
      error(("the plan reader refused a compiled plan (%s): %s"):format(mode or "plan", tostring(ok2 and msg or b)), 0)
    end
  end
end
