-- flow_stub: the nginx side of bench case (b), under lua-nginx-module.
--
-- init (once, in init_by_lua): reads the data bench/stubdata wrote from
-- editiond's own bank and packs (ctx, bank.profile(), bank.accounts(),
-- bank.products() for the same customer), keeps each part as a JSON string,
-- and loads every flow file of editions/flows with a `bank` stub in its
-- environment (the same source files editiond compiles into its packs).
--
-- serve (every request), the counterpart of editiond's POST
-- /api/v1/<edition>/flows/<flow>:
--   * checks the bearer token (a string compare; editiond looks the session
--     up in its store);
--   * reads the body and decodes it as JSON (the params);
--   * decodes ctx from JSON into a fresh table (editiond builds ctx as JSON
--     and pushes it into Lua);
--   * runs the flow under pcall; each bank.* call decodes its stored JSON
--     into fresh tables (editiond runs the SQLite query and pushes the JSON
--     result into Lua);
--   * encodes the result with cjson and sends it with Content-Length,
--     Content-Type application/json and Cache-Control no-store.
local cjson = require "cjson"

local M = {}
local data = {}     -- part name -> JSON text
local flows = {}    -- flow id -> function(params, ctx)
local bearer

local bank = {}
function bank.profile() return cjson.decode(data.profile) end
function bank.accounts() return cjson.decode(data.accounts) end
function bank.products() return cjson.decode(data.products) end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function M.init(stub_path, flow_dir, token)
  local all = cjson.decode(slurp(stub_path))
  for _, part in ipairs({ "ctx", "profile", "accounts", "products" }) do
    data[part] = cjson.encode(all[part])
  end
  local env = setmetatable({ bank = bank }, { __index = _G })
  for _, id in ipairs({ "wealth_list", "accounts_overview" }) do
    local chunk = assert(loadfile(flow_dir .. "/" .. id .. ".lua"))
    setfenv(chunk, env)
    flows[id] = chunk()
  end
  bearer = "Bearer " .. token
end

local function answer(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.header["Content-Length"] = #body
  ngx.print(body)
end

function M.serve(id)
  local flow = flows[id]
  if not flow then
    return answer(404, '{"error":"not_found"}')
  end
  if ngx.var.http_authorization ~= bearer then
    return answer(401, '{"error":"login_required"}')
  end
  ngx.req.read_body()
  local ok, params = pcall(cjson.decode, ngx.req.get_body_data() or "{}")
  if not ok or type(params) ~= "table" then
    return answer(400, '{"error":"bad_request"}')
  end
  local ran, result = pcall(flow, params, cjson.decode(data.ctx))
  if not ran then
    return answer(500, '{"error":"internal"}')
  end
  answer(200, cjson.encode(result))
end

return M
