-- payees_list: the customer's saved payees.
return function(params, ctx)
  local payees = bank.payees()
  return { payees = payees, count = #payees }
end
