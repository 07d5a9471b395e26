return function(params, ctx)
  local a = bank.accounts()
  local t = { from = a[1].id, to_account = "6222020200112233445", to_name = "李雷", amount = 1, key = "k" }
  local r1 = bank.transfer(t)
  local ok, e = pcall(bank.transfer, { from = a[1].id, to_account = "1", to_name = "y", amount = 2, key = "k" })
  return { s = tostring(e), o = r1, b = ok }
end
