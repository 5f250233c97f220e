-- Small file helpers the runtime and the Slurm backend share.
local M = {}

-- the whole file, or nil when it cannot be opened
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- write text to path through a temporary file renamed over it: a reader
-- sees the old content or the new one, never a part
function M.write_atomic(path, text)
  local tmp = ("%s.tmp%d"):format(path, require("cgsandbox.core").getpid())
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok or not cok then
    os.remove(tmp)
    return nil, werr or cerr
  end
  local rok, rerr = os.rename(tmp, path)
  if not rok then
    os.remove(tmp)
    return nil, rerr
  end
  return true
end

return M
