-- transfer_payee: the care edition's simple transfer to a saved payee.
-- The customer picks a payee and types an amount; the payee's account and
-- bank come from the saved payee, never from the form. The edition's lower
-- single-transfer limit applies.
return function(params, ctx)
  local payee
  for _, p in ipairs(bank.payees()) do
    if tostring(p.id) == params.payee then
      payee = p
      break
    end
  end
  if not payee then
    return { ok = false, message = "unknown_payee" }
  end
  local limit = ctx.limits.transfer_single
  if limit and params.amount > limit then
    return { ok = false, message = "over_limit" }
  end
  local fee = 0
  if not payee.own_bank then
    fee = ctx.fees.cross_bank_transfer or 0
  end
  local r = bank.transfer{
    from = params.from,
    to_account = payee.account_number,
    to_name = payee.name,
    to_bank = (not payee.own_bank) and payee.bank_name or nil,
    amount = params.amount,
    fee = fee,
    memo = params.memo,
    limit = ctx.limits.transfer_single,
    daily_limit = ctx.limits.transfer_daily,
    key = ctx.idempotency_key,
  }
  return {
    transfer_id = r.transfer_id,
    status = r.status,
    amount = params.amount,
    fee = r.fee or fee,
    balance_after = r.balance_after,
    to_name = payee.name,
  }
end
