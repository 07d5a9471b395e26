-- transfer_form: what the transfer screens need before the customer types:
-- the accounts to pay from, the saved payees, the edition's limits and the
-- cross-bank fee (the zero-fee policy: fees come from the edition's YAML).
return function(params, ctx)
  return {
    accounts = bank.accounts(),
    payees = bank.payees(),
    limit_single = ctx.limits.transfer_single or 0,
    limit_daily = ctx.limits.transfer_daily or 0,
    fee = ctx.fees.cross_bank_transfer or 0,
  }
end
