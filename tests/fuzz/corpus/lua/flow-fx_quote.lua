-- fx_quote: a firm quote for a cross-border payment (兴易通付汇): how much
-- foreign currency the amount in yuan buys, valid until expires_at. The
-- quote screen then offers the payment form with the quote's id (`quotes`,
-- a one-row list for its drop-down), the accounts to pay from, and the
-- amount as decimal yuan text (`amount_yuan`): a form field carries yuan
-- like 123.45, never minor units.
local function decimal(minor)
  return string.format("%d.%02d", minor // 100, minor % 100)
end

return function(params, ctx)
  local ccy = params.currency:upper()
  local q = bank.fx_quote("CNY", ccy, params.amount)
  return {
    quote_id = q.quote_id,
    rate = tostring(q.rate),
    amount = params.amount,
    amount_to = q.amount_to,
    amount_to_text = ccy .. " " .. decimal(q.amount_to),
    amount_yuan = decimal(params.amount),
    currency = ccy,
    expires_at = q.expires_at,
    accounts = bank.accounts(),
    quotes = { { id = q.quote_id, name = ccy .. " @ " .. tostring(q.rate) } },
  }
end
