-- loan_apply: the consumer loan (兴e贷): online application, automatic
-- decision, disbursement into the customer's account at once.
--
-- The rules, in the order they apply (each gives a reason code the result
-- screen shows):
--   credit score below 600                       -> declined  (score_low)
--   amount above the product cap of 300,000 yuan -> declined  (over_cap)
--   credit score 600..649                        -> referred  (score_review)
--   amount above 20 x monthly income             -> referred  (income_review)
--   otherwise                                    -> approved  (auto_approved)
-- Approved rate by score: >= 750: 5.40%, >= 700: 7.20%, else 9.60%.
-- A referred application is recorded for a loan officer; nothing is paid.
local CAP = 30000000
local PRODUCT = "xingedai"

local function rate_for(score)
  if score >= 750 then return 540 end
  if score >= 700 then return 720 end
  return 960
end

local function decide(profile, amount)
  local score = profile.credit_score or 0
  local income = profile.monthly_income or 0
  if score < 600 then return "declined", "score_low" end
  if amount > CAP then return "declined", "over_cap" end
  if score < 650 then return "referred", "score_review" end
  if amount > 20 * income then return "referred", "income_review" end
  return "approved", "auto_approved"
end

return function(params, ctx)
  local profile = bank.profile()
  local decision, reason = decide(profile, params.amount)
  local rate = 0
  if decision == "approved" then
    rate = rate_for(profile.credit_score or 0)
  end
  local app = bank.loan_apply{
    product_id = PRODUCT,
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
    term_months = params.term_months,
  }
end
