-- asset_pool: the enterprise's asset pool (资产池): deposits, bills and
-- wealth it holds with the bank, and the financing they can back.
-- Pledge rates (the bank's rule): deposits 90%, acceptance bills 80%,
-- corporate wealth 70% of the amount held.
local PLEDGE = { deposit = 90, bill = 80, wealth = 70 }

return function(params, ctx)
  local holdings, pooled, capacity = {}, 0, 0
  for _, p in ipairs(bank.products()) do
    local held = p.holding or 0
    local rate = PLEDGE[p.kind]
    if rate and held > 0 then
      holdings[#holdings + 1] = { id = p.id, name = p.name, kind = p.kind, amount = held }
      pooled = pooled + held
      capacity = capacity + held * rate // 100
    end
  end
  return { holdings = holdings, pooled = pooled, capacity = capacity }
end
