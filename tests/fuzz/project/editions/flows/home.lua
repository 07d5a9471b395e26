-- home: the summary shown on the home screen
return function(params, ctx)
  local total = 0
  for _, a in ipairs(bank.accounts()) do
    total = total + a.balance
  end
  return { summary = { balance = total } }
end
