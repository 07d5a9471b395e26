-- loan_form: the consumer loan (兴e贷) application screen.
-- Shows what the customer can expect before applying: the amount the rules
-- would approve (20 times the monthly income, at most the product cap) and
-- the rate for their credit score. The decision itself is loan_apply's.
local CAP = 30000000          -- 300,000.00 yuan

local function rate_for(score)
  if score >= 750 then return 540 end
  if score >= 700 then return 720 end
  return 960
end

return function(params, ctx)
  local profile = bank.profile()
  local score = profile.credit_score or 0
  local max_amount = math.min(20 * (profile.monthly_income or 0), CAP)
  if score < 650 then
    max_amount = 0
  end
  return {
    accounts = bank.accounts(),
    max_amount = max_amount,
    rate_bp = rate_for(score),
    credit_score = score,
  }
end
