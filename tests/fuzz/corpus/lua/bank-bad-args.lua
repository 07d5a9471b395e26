return function(params, ctx)
  local res = {}
  for _, v in ipairs({ 0, -1, 1e308, 0/0, "1", "", {}, { 1, 2 }, true, math.maxinteger, math.mininteger }) do
    res[#res + 1] = tostring(pcall(bank.history, v, v, v))
    res[#res + 1] = tostring(pcall(bank.transfer, { from = v, to_account = v, amount = v, key = v }))
    res[#res + 1] = tostring(pcall(bank.buy_product, { product_id = v, amount = v, from = v, key = v }))
    res[#res + 1] = tostring(pcall(bank.decide_payment, v, "approve"))
    res[#res + 1] = tostring(pcall(bank.fx_quote, "cny", v, v))
    res[#res + 1] = tostring(pcall(bank.calendar, v))
  end
  return { l = res }
end
