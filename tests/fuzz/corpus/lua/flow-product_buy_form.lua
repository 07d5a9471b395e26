-- product_buy_form: the purchase form of one product: the product, the
-- accounts to pay from, and the customer's risk level for the disclosure.
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
  return {
    product = product,
    products = { product },
    accounts = bank.accounts(),
    risk_level = profile.risk_level or 3,
  }
end
