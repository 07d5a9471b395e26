-- payroll_form: accounts to pay salaries from and the payroll fee (0 under
-- the zero-fee policy).
return function(params, ctx)
  return {
    accounts = bank.accounts(),
    fee = ctx.fees.payroll or 0,
    limit = ctx.limits.payroll_batch or 0,
  }
end
