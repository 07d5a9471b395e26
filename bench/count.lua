-- wrk script for bench case (c): counts every response by status, so that
-- any answer other than 2xx counts as a failure (wrk itself counts only
-- statuses above 399). Prints "counted: N responses, B non-2xx" and wrk's
-- socket error counts at the end.
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  total = 0
  non2xx = 0
end

function response(status, headers, body)
  total = total + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local n, bad = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("total")
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format("counted: %d responses, %d non-2xx\n", n, bad))
  io.write(string.format("errors: connect %d, read %d, write %d, timeout %d\n",
                         e.connect, e.read, e.write, e.timeout))
end
