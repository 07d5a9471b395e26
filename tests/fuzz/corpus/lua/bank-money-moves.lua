return function(params, ctx)
  local a = bank.accounts()
  local k = ctx.idempotency_key
  local out = {}
  out[1] = pcall(bank.buy_product, { product_id = "xingedai", amount = 100000, from = a[1].id, key = k .. "b" })
  out[2] = pcall(bank.loan_apply, { product_id = "xingedai", amount = 3000000, term_months = 12, decision = "approve", rate_bp = 420, key = k .. "l" })
  out[3] = pcall(bank.deposit_open, { product_id = "d3m", amount = 100, from = a[1].id, key = k .. "d" })
  out[4] = pcall(bank.payroll, { from = a[1].id, items = { { name = "张三", account = "6222000011112222", amount = 500000 } }, key = k .. "p" })
  out[5] = pcall(bank.bill_issue, { payee_name = "x", amount = 100, due_date = "2026-12-01", key = k .. "i" })
  local q = bank.fx_quote("cny", "usd", 100000)
  out[6] = pcall(bank.crossborder_pay, { from = a[1].id, quote_id = q.quote_id, beneficiary = "ACME", swift = "BKCHHKHHXXX", amount = 100000, key = k .. "c" })
  return { l = out }
end
