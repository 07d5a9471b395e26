-- benefits_list: premium benefits (lounge, health check, concierge) and how
-- many of each the client has left this year.
return function(params, ctx)
  local list = bank.benefits()
  for _, b in ipairs(list) do
    b.left = math.max((b.quota or 0) - (b.used or 0), 0)
  end
  return { benefits = list }
end
