-- transfer: one transfer between the customer's account and a payee
return function(params, ctx)
  if params.amount > ctx.limits.transfer_single then
    return { ok = false, message = "over_limit" }
  end
  return bank.transfer{ to_account = params.to_account, amount = params.amount,
                        key = ctx.idempotency_key }
end
