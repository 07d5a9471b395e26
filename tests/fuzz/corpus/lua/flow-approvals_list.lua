-- approvals_list: payments the enterprise's operators made that wait for
-- the legal person's approval, largest first.
return function(params, ctx)
  local list = bank.pending_payments()
  table.sort(list, function(a, b)
    if a.amount ~= b.amount then return a.amount > b.amount end
    return tostring(a.id) < tostring(b.id)
  end)
  local total = 0
  for _, p in ipairs(list) do
    total = total + p.amount
  end
  return { payments = list, count = #list, total = total }
end
