-- corp_loan_apply: enterprise loans: online application, automatic
-- approval and fast disbursement into the enterprise's account.
--
-- 好企贷 (haoqidai), unsecured, rules in order:
--   amount above 3,000,000 yuan                              -> declined (over_cap)
--   amount <= 3 x last month's card turnover + half the cash -> approved (auto_approved)
--   otherwise                                                -> referred (turnover_review)
-- Guaranteed loan (guaranteed-loan), rules in order:
--   no guarantor named                                       -> declined (no_guarantor)
--   amount above 10,000,000 yuan                             -> declined (over_cap)
--   amount <= 5,000,000 yuan                                 -> approved (auto_approved)
--   otherwise                                                -> referred (guarantee_review)
-- The rate is the product's rate; approved loans are paid out at once.
local RULES = {}

function RULES.haoqidai(params, ctx)
  if params.amount > 300000000 then return "declined", "over_cap" end
  local cash = 0
  for _, a in ipairs(bank.accounts()) do
    cash = cash + a.balance
  end
  local ok, m = pcall(bank.merchant_summary)
  local turnover = ok and m.month_amount or 0
  if params.amount <= 3 * turnover + cash // 2 then
    return "approved", "auto_approved"
  end
  return "referred", "turnover_review"
end

RULES["guaranteed-loan"] = function(params, ctx)
  if not params.guarantor or not params.guarantor:match("%S") then
    return "declined", "no_guarantor"
  end
  if params.amount > 1000000000 then return "declined", "over_cap" end
  if params.amount <= 500000000 then return "approved", "auto_approved" end
  return "referred", "guarantee_review"
end

return function(params, ctx)
  local product
  for _, p in ipairs(bank.products()) do
    if p.id == params.product_id and p.kind == "loan" then
      product = p
      break
    end
  end
  local rule = product and RULES[product.id]
  if not rule then
    return { ok = false, message = "not_found" }
  end
  if params.amount < (product.min_amount or 0) then
    return { ok = false, message = "below_minimum" }
  end
  local decision, reason = rule(params, ctx)
  local rate = decision == "approved" and product.rate_bp or 0
  local app = bank.loan_apply{
    product_id = product.id,
    amount = params.amount,
    term_months = params.term_months,
    decision = decision,
    rate_bp = rate,
    key = ctx.idempotency_key,
  }
  local status = app.status
  if decision == "approved" then
    local d = bank.loan_disburse(app.application_id, params.account)
    status = d.status or "disbursed"
  end
  return {
    application_id = app.application_id,
    status = status,
    decision = decision,
    reason = reason,
    rate_bp = rate,
    amount = params.amount,
    product_name = product.name,
  }
end
