-- accounts_overview: every account of the current identity (personal or
-- enterprise) and their total.
return function(params, ctx)
  local accounts = bank.accounts()
  local total = 0
  for _, a in ipairs(accounts) do
    total = total + a.balance
  end
  return { accounts = accounts, total = total, count = #accounts }
end
