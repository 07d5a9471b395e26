-- crossborder_pay: pays abroad at a quoted rate (兴易通付汇).
-- The SWIFT/BIC code is checked here (8 or 11 letters and digits) so a typo
-- is refused before the bank is asked.
return function(params, ctx)
  local swift = params.swift:upper()
  if not (swift:match("^%u%u%u%u%u%u%w%w$") or swift:match("^%u%u%u%u%u%u%w%w%w%w%w$")) then
    return { ok = false, message = "bad_swift" }
  end
  local r = bank.crossborder_pay{
    from = params.from,
    quote_id = params.quote_id,
    beneficiary = params.beneficiary,
    swift = swift,
    amount = params.amount,
    key = ctx.idempotency_key,
  }
  return {
    payment_id = r.payment_id,
    status = r.status,
    amount = params.amount,
    beneficiary = params.beneficiary,
    swift = swift,
  }
end
