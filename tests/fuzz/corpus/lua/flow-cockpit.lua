-- cockpit: the boss's management cockpit (管理驾驶舱): cash position,
-- receivables, loans outstanding and the 30-day cash flow, plus the net
-- position (cash + receivables - loans) the cockpit leads with.
return function(params, ctx)
  local c = bank.cockpit()
  local inflow, outflow = 0, 0
  for _, d in ipairs(c.flow or {}) do
    inflow = inflow + (d.inflow or 0)
    outflow = outflow + (d.outflow or 0)
  end
  return {
    cash = c.cash,
    receivables = c.receivables,
    loans = c.loans,
    net = c.cash + c.receivables - c.loans,
    flow = c.flow or {},
    inflow_30d = inflow,
    outflow_30d = outflow,
  }
end
