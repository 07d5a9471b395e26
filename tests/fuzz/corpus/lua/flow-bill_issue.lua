-- bill_issue: issues a bank acceptance bill (承兑开票) to a payee.
-- The due date must lie after today and within 180 days (the product's
-- term); dates are YYYY-MM-DD, so they compare as text.
local function add_days(date, days)
  local y, m, d = date:match("^(%d+)-(%d+)-(%d+)$")
  local dim = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  y, m, d = tonumber(y), tonumber(m), tonumber(d) + days
  while true do
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
    local n = dim[m] + ((m == 2 and leap) and 1 or 0)
    if d <= n then break end
    d = d - n
    m = m + 1
    if m > 12 then m, y = 1, y + 1 end
  end
  return string.format("%04d-%02d-%02d", y, m, d)
end

return function(params, ctx)
  if params.due_date <= ctx.today or params.due_date > add_days(ctx.today, 180) then
    return { ok = false, message = "bad_due_date" }
  end
  local r = bank.bill_issue{
    payee_name = params.payee_name,
    amount = params.amount,
    due_date = params.due_date,
    key = ctx.idempotency_key,
  }
  return {
    bill_id = r.bill_id,
    status = r.status,
    amount = params.amount,
    due_date = params.due_date,
    payee_name = params.payee_name,
  }
end
