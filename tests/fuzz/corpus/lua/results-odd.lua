return function(params, ctx)
  local cyc = {} cyc.self = cyc
  local r = { s = 1.5, n = 2^53, x = 0/0, b = "yes", l = { 1, nil, 3 }, o = { [1] = "a", b = 2 }, a = 12 }
  if params.amount > 1000 then return cyc end
  if ctx.role == "boss" then return { o = print } end
  if ctx.role == "operator" then return setmetatable({}, { __index = function() error("x") end }) end
  return r
end
