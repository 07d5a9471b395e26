-- profile_info: the settings screen's profile (personal or enterprise).
return function(params, ctx)
  local p = bank.profile()
  return {
    profile = p,
    name = p.name,
    tier = p.tier or ctx.tier,
    risk_level = p.risk_level,
    enterprise_name = p.enterprise_name,
    role = p.role or ctx.role,
  }
end
