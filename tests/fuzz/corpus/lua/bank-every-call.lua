return function(params, ctx)
  local accts = bank.accounts()
  local from = accts[1] and accts[1].id or "1"
  local out = {}
  out.p = bank.profile()
  out.h = bank.history(from, 1, 5)
  out.y = bank.payees()
  out.pr = bank.products()
  out.ms = bank.merchant_summary()
  out.pp = bank.pending_payments()
  out.c = bank.calendar(30)
  out.k = bank.cockpit()
  out.m = bank.manager()
  out.be = bank.benefits()
  return { s = "done", n = #accts, o = out, l = accts, a = from, b = true, x = 1.5 }
end
