-- payroll: pays salaries in one batch (代发工资).
-- The form sends one line per employee: "name,account,amount", the amount
-- in yuan with at most two decimals ("8500" or "8500.50"); lines are
-- separated by new lines or by ';' (a one-line field on phones). Lines are
-- checked here before anything moves; one bad line refuses the whole batch
-- and names it. The batch total is bound by limits.payroll_batch.
local MAX_LINES = 500

-- Leading and trailing white space removed. Plain scans, so that a long line
-- costs its length and no pattern backtracking.
local function trim(s)
  local first = s:find("%S")
  if not first then
    return ""
  end
  local last = #s
  while last > first and s:find("^%s", last) do
    last = last - 1
  end
  return s:sub(first, last)
end

-- "8500.5" -> 850050; nil when not an amount.
local function minor_units(s)
  local whole, frac = s:match("^(%d+)%.?(%d*)$")
  if not whole or #frac > 2 or #whole > 12 then
    return nil
  end
  frac = frac .. string.rep("0", 2 - #frac)
  return tonumber(whole) * 100 + tonumber(frac)
end

-- "name,account,amount" -> name, account, minor units; nil when malformed.
local function parse_line(line)
  local c1 = line:find(",", 1, true)
  local c2 = c1 and line:find(",", c1 + 1, true)
  if not c2 then
    return nil
  end
  local name = trim(line:sub(1, c1 - 1))
  local account = trim(line:sub(c1 + 1, c2 - 1))
  local minor = minor_units(trim(line:sub(c2 + 1)))
  if name == "" or not account:find("^[%d%-]+$") or not minor or minor <= 0 then
    return nil
  end
  return name, account, minor
end

local function parse(text)
  local items, total = {}, 0
  local n = 0
  for line in (text:gsub(";", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r", "")
    n = n + 1
    if line:find("%S") then
      local name, account, minor = parse_line(line)
      if not name then
        return nil, n
      end
      items[#items + 1] = { name = name, account = account, amount = minor }
      total = total + minor
      if #items > MAX_LINES then
        return nil, n
      end
    end
  end
  return items, total
end

return function(params, ctx)
  local items, total_or_line = parse(params.items)
  if not items then
    return { ok = false, message = "bad_line", line = total_or_line }
  end
  local total = total_or_line
  if #items == 0 then
    return { ok = false, message = "empty_batch" }
  end
  local limit = ctx.limits.payroll_batch
  if limit and total > limit then
    return { ok = false, message = "over_limit" }
  end
  local r = bank.payroll{ from = params.from, items = items, key = ctx.idempotency_key }
  return {
    batch_id = r.batch_id,
    count = r.count or #items,
    total = r.total or total,
    status = r.status,
    fee = ctx.fees.payroll or 0,
  }
end
