-- product_detail: one product of the edition and whether this customer may
-- buy it. `offer` is the product as a one-row list: the screen links that
-- row to the purchase screen (rows link with ?id=<row id>).
return function(params, ctx)
  local product
  for _, p in ipairs(bank.products()) do
    if p.id == params.id then
      product = p
      break
    end
  end
  if not product then
    return { ok = false, message = "not_found" }
  end
  local profile = bank.profile()
  local level = profile.risk_level or 3
  local suitable = (product.risk_level or 5) <= level
  local offer = {}
  if suitable then
    offer[1] = product
  end
  return { product = product, suitable = suitable, risk_level = level, offer = offer }
end
