return function(params, ctx)
  if ctx.enterprise_id then error({ code = "insufficient_funds" }) end
  local ok, e = pcall(error, setmetatable({}, { __tostring = function() return "t" end }))
  error("insufficient_funds", 0)
end
