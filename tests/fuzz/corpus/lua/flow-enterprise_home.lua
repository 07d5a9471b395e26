-- enterprise_home: the enterprise home screen: the enterprise's name, its
-- accounts and their total.
return function(params, ctx)
  local profile = bank.profile()
  local accounts = bank.accounts()
  local total = 0
  for _, a in ipairs(accounts) do
    total = total + a.balance
  end
  return {
    name = profile.name,
    enterprise_name = profile.enterprise_name,
    role = profile.role or ctx.role,
    accounts = accounts,
    total = total,
  }
end
