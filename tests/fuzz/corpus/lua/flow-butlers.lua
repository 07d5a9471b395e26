-- butlers: the "six butlers" (六大管家) product series, grouped by the need
-- each butler serves: payment, wealth, cash, financing, bills, cross-border.
local BUTLER = {
  acquiring = "payment", payroll = "payment",
  wealth = "wealth",
  deposit = "cash", pool = "cash",
  loan = "financing",
  bill = "bills",
  fx = "crossborder",
}

return function(params, ctx)
  local out = { payment = {}, wealth = {}, cash = {}, financing = {}, bills = {}, crossborder = {} }
  for _, p in ipairs(bank.products()) do
    local b = p.series == "six-butlers" and BUTLER[p.kind]
    if b then
      table.insert(out[b], p)
    end
  end
  return out
end
