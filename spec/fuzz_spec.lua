-- The fuzz targets run (libFuzzer, ASan, UBSan) for a short pass from their
-- seed corpus; `make fuzz FUZZ_SECONDS=N` runs them longer.
local H = require "spec.support.helper"

describe("the fuzz targets", function()
  it("decode hostile plans for 15 seconds without a finding (plan_decode)", function()
    local out, rc = H.sh(("make -s -C %q fuzz FUZZ_SECONDS=15"):format(H.root))
    assert.are.equal(0, rc, out)
    local runs = tonumber(out:match("plan_decode: Done (%d+) runs"))
    assert.is_true(runs and runs > 10000, out)
    assert.falsy(out:find("ERROR", 1, true), out)
  end)
end)
