-- The fuzz targets run (libFuzzer, ASan, UBSan) for a short pass from their
-- seed corpus (fuzz/corpus); `make fuzz FUZZ_SECONDS=N` runs them longer.
-- Tagged #fuzz: the sanitizer pass of scripts/test leaves them out (they
-- are sanitizer builds already).
local H = require "spec.support.helper"

local TARGETS = {
  -- target, what it covers, the fewest runs 8 seconds give on this machine
  { "plan_decode", "init's plan decoder", 100000 },
  { "cg_parse", "the cgroup and mountinfo parsers", 100000 },
  { "recipe_compile", "the recipe compiler and the C plan reader", 2000 },
  { "units", "the unit parsers", 2000 },
}

describe("the fuzz targets #fuzz", function()
  local out, rc
  setup(function()
    out, rc = H.sh(("make -s -C %q fuzz FUZZ_SECONDS=8 2>&1"):format(H.root))
  end)

  for _, t in ipairs(TARGETS) do
    it(("find nothing in %s for 8 seconds (%s)"):format(t[2], t[1]), function()
      assert.are.equal(0, rc, out)
      local runs = tonumber(out:match(t[1] .. ": Done (%d+) runs"))
      assert.is_true(runs and runs >= t[3], out)
      assert.falsy(out:find(t[1] .. ": ==%d+==ERROR"), out)
    end)
  end
end)
