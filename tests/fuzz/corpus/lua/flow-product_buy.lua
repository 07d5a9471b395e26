-- product_buy: buys a wealth, deposit or insurance product.
-- Refused before any money moves when: the customer has not ticked the risk
-- statement, the product is not offered by this edition, the product's risk
-- level exceeds the customer's (enterprise service: level 3 at most, the
-- bank's rule for corporate wealth), or the amount is below the minimum.
return function(params, ctx)
  if not params.agree then
    return { ok = false, message = "must_agree" }
  end
  local product
  for _, p in ipairs(bank.products()) do
    if p.id == params.product_id then
      product = p
      break
    end
  end
  if not product then
    return { ok = false, message = "not_found" }
  end
  local level
  if ctx.segment == "enterprise" then
    level = 3
  else
    level = bank.profile().risk_level or 1
  end
  if (product.risk_level or 5) > level then
    return { ok = false, message = "risk_mismatch" }
  end
  if params.amount < (product.min_amount or 0) then
    return { ok = false, message = "below_minimum" }
  end
  local r = bank.buy_product{
    product_id = product.id,
    amount = params.amount,
    from = params.from,
    key = ctx.idempotency_key,
  }
  return {
    order_id = r.order_id,
    status = r.status,
    product_name = product.name,
    amount = params.amount,
    rate_bp = product.rate_bp,
  }
end
