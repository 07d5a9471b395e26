return function(params, ctx)
  local out = {}
  for _, p in ipairs(bank.pending_payments()) do
    out[#out + 1] = { pcall(bank.decide_payment, p.payment_id, "approve") }
    out[#out + 1] = { pcall(bank.decide_payment, p.payment_id, "reject") }
  end
  local ok, r = pcall(bank.loan_disburse, "1", "1")
  return { l = out, b = ok, s = tostring(r) }
end
