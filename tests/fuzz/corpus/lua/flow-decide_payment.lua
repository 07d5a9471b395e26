-- decide_payment: the boss approves or rejects a waiting payment.
-- Approving moves the money, so the flow is confirmed and step-up. Only the
-- legal person may decide (the bank checks it too); the payment id makes a
-- repeated decision harmless.
return function(params, ctx)
  if ctx.role ~= "boss" then
    return { ok = false, message = "forbidden" }
  end
  local r = bank.decide_payment(params.payment_id, params.decision)
  return { payment_id = r.payment_id, status = r.status, decision = params.decision }
end
