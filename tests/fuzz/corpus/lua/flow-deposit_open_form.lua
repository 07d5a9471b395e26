-- deposit_open_form: the form to open one deposit product (兴享存, 兴易存).
return function(params, ctx)
  local product
  for _, p in ipairs(bank.products()) do
    if p.id == params.id and p.kind == "deposit" then
      product = p
      break
    end
  end
  if not product then
    return { ok = false, message = "not_found" }
  end
  return { product = product, products = { product }, accounts = bank.accounts() }
end
