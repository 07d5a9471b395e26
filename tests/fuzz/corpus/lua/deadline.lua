return function(params, ctx)
  local ok = pcall(function() while true do end end)
  return { b = ok }
end
