-- home_summary: the personal home screen.
-- Balances of the customer's accounts, and up to three product
-- recommendations chosen from the edition's products by the customer's
-- profile. The rules, each one a customer adviser could explain:
--   * suitability: a product's risk level does not exceed the customer's;
--   * not already held;
--   * by tier: a private-banking client sees the exclusive products first;
--     a mass-market customer only products whose minimum amount their
--     balances can pay;
--   * then the highest rate first;
--   * the consumer loan is suggested only to customers whose credit score
--     the automatic decision would approve (650 or more).
local function is_exclusive(p, edition)
  if type(p.exclusive_to) ~= "table" then return false end
  for _, e in ipairs(p.exclusive_to) do
    if e == edition then return true end
  end
  return false
end

local function pick(products, profile, total, ctx)
  local level = profile.risk_level or 1
  local private = (profile.tier or ctx.tier) == "private"
  local picks = {}
  for _, p in ipairs(products) do
    local invest = p.kind == "wealth" or p.kind == "deposit" or p.kind == "insurance"
    local affordable = private or (p.min_amount or 0) <= total
    if invest and affordable and (p.risk_level or 5) <= level and (p.holding or 0) == 0 then
      p.exclusive = is_exclusive(p, ctx.edition)
      picks[#picks + 1] = p
    end
  end
  table.sort(picks, function(a, b)
    if private and a.exclusive ~= b.exclusive then return a.exclusive end
    if a.rate_bp ~= b.rate_bp then return a.rate_bp > b.rate_bp end
    return a.id < b.id
  end)
  return picks
end

return function(params, ctx)
  local profile = bank.profile()
  local accounts = bank.accounts()
  local total = 0
  for _, a in ipairs(accounts) do
    total = total + a.balance
  end

  local products = bank.products()
  local picks = pick(products, profile, total, ctx)
  local recs = {}
  for i = 1, math.min(3, #picks) do
    recs[#recs + 1] = picks[i]
  end
  if (profile.credit_score or 0) >= 650 and ctx.features.consumer_loan ~= false then
    for _, p in ipairs(products) do
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
