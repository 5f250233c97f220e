-- A site policy for sandboxlua as an OCI runtime (install it as
-- /etc/sandboxlua/oci-policy.lua, or pass --policy FILE).  It gets the
-- container's config.json (decoded: copies, so changing them changes
-- nothing of the caller's) and the recipe sandboxlua made of it, and
-- returns the recipe to run, or nil and the message the engine's user sees.
-- When sandboxlua could not translate the config (recipe nil, refusal its
-- message), the policy is still asked: its own refusal is shown instead.
--
-- This one: no privileged container (CAP_SYS_ADMIN in the bounding set,
-- or the host's network without a user namespace); memory capped at 1G;
-- sandboxlua's default seccomp filter, whatever the config asked for.
local units = require "cgsandbox.units"

local CAP = units.size("1G")

return function(config, recipe, refusal)
  local caps = config.process and config.process.capabilities or {}
  for _, c in ipairs(caps.bounding or {}) do
    if c == "CAP_SYS_ADMIN" then
      return nil, "site policy: privileged containers (CAP_SYS_ADMIN) are not allowed on this host"
    end
  end
  local ns = {}
  for _, n in ipairs(config.linux and config.linux.namespaces or {}) do ns[n.type] = true end
  if not ns.network and not ns.user then
    return nil, "site policy: the host's network is allowed only in a user namespace (rootless) here"
  end

  if not recipe then return nil, refusal end -- nothing of ours to say

  recipe.limits = recipe.limits or {}
  local mem = recipe.limits.memory and units.size(recipe.limits.memory, true)
  if mem == nil or mem == "max" or mem > CAP then recipe.limits.memory = CAP end

  recipe.seccomp = true -- sandboxlua's default deny-list
  return recipe
end
