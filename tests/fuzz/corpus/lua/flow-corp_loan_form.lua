-- corp_loan_form: the application form of one enterprise loan (好企贷 or
-- the guaranteed loan) with the limit the automatic rules would approve.
-- The rules are corp_loan_apply's; this only previews them.
local CAP = { haoqidai = 300000000, ["guaranteed-loan"] = 1000000000 }

return function(params, ctx)
  local product
  for _, p in ipairs(bank.products()) do
    if p.id == params.id and p.kind == "loan" then
      product = p
      break
    end
  end
  if not product then
    return { ok = false, message = "not_found" }
  end
  local accounts = bank.accounts()
  local cash = 0
  for _, a in ipairs(accounts) do
    cash = cash + a.balance
  end
  local ok, m = pcall(bank.merchant_summary)
  local turnover = ok and m.month_amount or 0
  local cap = CAP[product.id] or 0
  local max_amount = math.min(3 * turnover + cash // 2, cap)
  if product.id == "guaranteed-loan" then
    max_amount = cap
  end
  return {
    product = product,
    products = { product },
    accounts = accounts,
    max_amount = max_amount,
    rate_bp = product.rate_bp,
  }
end
