-- transfer: own-bank and cross-bank transfers.
-- Decisions made here: the per-transfer limit of the edition, and the fee
-- (cross-bank transfers pay fees.cross_bank_transfer, 0 under the zero-fee
-- policy; own-bank transfers are free). The bank moves the money atomically
-- and once per idempotency key; it enforces the edition's daily limit
-- (passed as daily_limit) and the balance. In enterprise service the bank
-- may answer "pending_approval": an operator's large payment then waits for
-- the legal person (enterprise-boss approvals).
return function(params, ctx)
  local limit = ctx.limits.transfer_single
  if limit and params.amount > limit then
    return { ok = false, message = "over_limit" }
  end
  local cross_bank = params.to_bank ~= nil and params.to_bank ~= "own"
  local fee = 0
  if cross_bank then
    fee = ctx.fees.cross_bank_transfer or 0
  end
  local r = bank.transfer{
    from = params.from,
    to_account = params.to_account,
    to_name = params.to_name,
    to_bank = cross_bank and params.to_bank or nil,
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
    to_name = params.to_name,
    cross_bank = cross_bank,
  }
end
