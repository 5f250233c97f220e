-- busted output handler: gtest's per-test lines, then one machine-readable
-- line with busted's own counts, summed by scripts/test across runs.
return function(options)
  local busted = require 'busted'
  local handler = require 'busted.outputHandlers.gtest'(options)
  busted.subscribe({ 'suite', 'end' }, function()
    io.write(('SBX-COUNTS %d %d %d %d\n'):format(handler.successesCount, handler.failuresCount,
                                                  handler.errorsCount, handler.pendingsCount))
    io.flush()
    return nil, true
  end)
  return handler
end
