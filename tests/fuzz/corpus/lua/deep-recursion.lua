local function f(n) return f(n + 1) + 1 end
return function(params, ctx)
  local t = {} local cur = t
  for i = 1, 100 do cur.n = {} cur = cur.n end
  local ok = pcall(f, 1)
  return { o = t, b = ok }
end
