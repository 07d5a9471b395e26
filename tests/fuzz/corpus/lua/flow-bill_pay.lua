-- bill_pay: pays a utility bill (electricity, water, gas, mobile).
-- A bill payment is a transfer to the biller's collection account through
-- the utility clearing house; the customer's bill number goes into the memo
-- so the biller can match it. Utility payments carry no fee.
local BILLERS = {
  electricity = { account = "6229990000000001", name = "GD-POWER-GRID" },
  water       = { account = "6229990000000002", name = "CITY-WATER" },
  gas         = { account = "6229990000000003", name = "CITY-GAS" },
  mobile      = { account = "6229990000000004", name = "MOBILE-TOPUP" },
}

return function(params, ctx)
  local biller = BILLERS[params.biller]
  if not biller then
    return { ok = false, message = "unknown_biller" }
  end
  local limit = ctx.limits.payment_single
  if limit and params.amount > limit then
    return { ok = false, message = "over_limit" }
  end
  local r = bank.transfer{
    from = params.from,
    to_account = biller.account,
    to_name = biller.name,
    to_bank = "UTILITY-CLEARING",
    amount = params.amount,
    fee = 0,
    memo = params.biller .. ":" .. params.bill_number,
    key = ctx.idempotency_key,
  }
  return {
    payment_id = r.transfer_id,
    status = r.status,
    amount = params.amount,
    biller = params.biller,
    bill_number = params.bill_number,
    balance_after = r.balance_after,
  }
end
