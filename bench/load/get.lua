-- One fixed GET request: LOAD_PATH, with Authorization from LOAD_AUTH and X-Api-Key from
-- LOAD_API_KEY when they are set (the proxy is called with a token, the upstream with its key).
wrk.method = "GET"
wrk.path = os.getenv("LOAD_PATH")
local auth = os.getenv("LOAD_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local key = os.getenv("LOAD_API_KEY")
if key and key ~= "" then
  wrk.headers["X-Api-Key"] = key
end
