-- calendar_events: the financial calendar (金融日历): loan, bill and deposit
-- due dates of the next 30 days, soonest first.
local DAYS = 30

return function(params, ctx)
  local events = bank.calendar(DAYS)
  table.sort(events, function(a, b)
    if a.date ~= b.date then return a.date < b.date end
    return (a.kind or "") < (b.kind or "")
  end)
  local due = 0
  for _, e in ipairs(events) do
    due = due + (e.amount or 0)
  end
  return { events = events, days = DAYS, due_total = due, count = #events }
end
