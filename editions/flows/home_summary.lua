-- home_summary: the personal home screen.
-- Balances of the customer's accounts, and up to three product
-- recommendations chosen from the edition's products by the customer's
-- profile: a product is suitable when its risk level does not exceed the
-- customer's; deposits and wealth products come first by yield; the consumer
-- loan is suggested only to customers whose credit score would approve it.
return function(params, ctx)
  local profile = bank.profile()
  local accounts = bank.accounts()
  local total = 0
  for _, a in ipairs(accounts) do
    total = total + a.balance
  end

  local level = profile.risk_level or 1
  local picks = {}
  for _, p in ipairs(bank.products()) do
    local invest = p.kind == "wealth" or p.kind == "deposit" or p.kind == "insurance"
    if invest and (p.risk_level or 5) <= level and (p.holding or 0) == 0 then
      picks[#picks + 1] = p
    end
  end
  table.sort(picks, function(a, b)
    if a.rate_bp ~= b.rate_bp then return a.rate_bp > b.rate_bp end
    return a.id < b.id
  end)

  local recs = {}
  for i = 1, math.min(3, #picks) do
    recs[#recs + 1] = picks[i]
  end
  if (profile.credit_score or 0) >= 650 and #recs < 4 then
    for _, p in ipairs(bank.products()) do
      if p.kind == "loan" then
        recs[#recs + 1] = p
        break
      end
    end
  end

  return {
    name = profile.name,
    total = total,
    accounts = accounts,
    recommendations = recs,
  }
end
