return function(params, ctx)
  local accts = bank.accounts()
  local r = bank.transfer{ from = accts[1].id, to_account = accts[#accts].number, to_name = "x",
                           amount = params.amount, fee = 0, memo = "m", key = ctx.idempotency_key,
                           limit = ctx.limits.transfer_single }
  return { s = r.status, n = r.balance_after, o = r }
end
