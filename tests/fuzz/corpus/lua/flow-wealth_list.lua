-- wealth_list: the wealth, deposit and insurance products this customer may
-- buy: a product's risk level must not exceed the customer's (suitability).
-- Products above the customer's level are left out, not greyed out.
-- Enterprise service has no personal risk assessment: the bank's rule for
-- corporate wealth is level 3 at most.
return function(params, ctx)
  local profile = bank.profile()
  local level = profile.risk_level or (ctx.segment == "enterprise" and 3 or 1)
  local list = {}
  for _, p in ipairs(bank.products()) do
    local invest = p.kind == "wealth" or p.kind == "deposit" or p.kind == "insurance"
    if invest and (p.risk_level or 5) <= level then
      list[#list + 1] = p
    end
  end
  table.sort(list, function(a, b)
    if a.risk_level ~= b.risk_level then return a.risk_level < b.risk_level end
    return a.id < b.id
  end)
  return { products = list, risk_level = level, count = #list }
end
