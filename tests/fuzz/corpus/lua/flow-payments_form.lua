-- payments_form: accounts to pay utility bills from, and the fee (none).
return function(params, ctx)
  return { accounts = bank.accounts(), fee = 0 }
end
