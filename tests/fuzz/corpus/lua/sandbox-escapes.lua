return function(params, ctx)
  local t = {}
  t[1] = pcall(function() return load("return 1") end)
  t[2] = pcall(function() return getmetatable("").__index end)
  t[3] = pcall(rawset, bank, "transfer", print)
  t[4] = pcall(setmetatable, {}, { __gc = function() end })
  t[5] = pcall(function() bank.accounts = nil end)
  t[6] = pcall(function() string.dump(print) end)
  t[7] = pcall(function() return io or os or debug or coroutine or require end)
  t[8] = pcall(function() _G.bank = nil; return bank end)
  t[9] = pcall(function() return rawget(string, "rep") end)
  t[10] = pcall(function() return collectgarbage("count") end)
  return { l = t }
end
