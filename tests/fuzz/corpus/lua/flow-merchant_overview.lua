-- merchant_overview: merchant acquiring (商户收单): today's card payments,
-- this month's turnover, and the latest settlements into the account.
return function(params, ctx)
  local m = bank.merchant_summary()
  return {
    today_count = m.today_count,
    today_amount = m.today_amount,
    month_amount = m.month_amount,
    settlements = m.settlements or {},
  }
end
