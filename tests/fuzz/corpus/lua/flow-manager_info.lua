-- manager_info: the client's dedicated relationship manager.
return function(params, ctx)
  local m = bank.manager()
  return { manager = m, name = m.name, phone = m.phone }
end
