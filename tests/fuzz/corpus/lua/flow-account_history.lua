-- account_history: one page of an account's transactions.
-- params.id is an account of the caller (checked in C as type account);
-- params.page defaults to the first page.
local PAGE_SIZE = 20

return function(params, ctx)
  local page = params.page or 1
  local account
  for _, a in ipairs(bank.accounts()) do
    if tostring(a.id) == tostring(params.id) then
      account = a
      break
    end
  end
  if not account then
    return { ok = false, message = "not_found" }
  end
  local h = bank.history(account.id, page, PAGE_SIZE)
  return {
    account = account,
    items = h.items,
    pager = { page = h.page, pages = h.pages, total = h.total },
    total = h.total,
  }
end
