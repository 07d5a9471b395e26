-- deposit_open: opens a corporate deposit from a current account.
-- Refused when the product is not a deposit of this edition or the amount
-- is below its minimum.
return function(params, ctx)
  local product
  for _, p in ipairs(bank.products()) do
    if p.id == params.product_id and p.kind == "deposit" then
      product = p
      break
    end
  end
  if not product then
    return { ok = false, message = "not_found" }
  end
  if params.amount < (product.min_amount or 0) then
    return { ok = false, message = "below_minimum" }
  end
  local r = bank.deposit_open{
    product_id = product.id,
    amount = params.amount,
    from = params.from,
    key = ctx.idempotency_key,
  }
  return {
    deposit_id = r.deposit_id,
    status = r.status,
    product_name = product.name,
    amount = params.amount,
    rate_bp = product.rate_bp,
    term_days = product.term_days,
  }
end
