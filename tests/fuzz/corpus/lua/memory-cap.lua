return function(params, ctx)
  local ok = pcall(function() local s = string.rep("x", 1 << 20) local t = {} for i = 1, 100 do t[i] = s .. i end end)
  return { b = ok }
end
