-- exclusive_products: the private-banking edition's exclusive products
-- (those the catalogue marks exclusive_to private-banking), with the
-- customer's risk level for the suitability note. Unsuitable products stay
-- listed for a private client but the purchase flow refuses them.
return function(params, ctx)
  local list = {}
  for _, p in ipairs(bank.products()) do
    local ex = p.exclusive_to
    if type(ex) == "table" then
      for _, e in ipairs(ex) do
        if e == ctx.edition then
          list[#list + 1] = p
          break
        end
      end
    end
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  local profile = bank.profile()
  return { products = list, risk_level = profile.risk_level or 1, count = #list }
end
