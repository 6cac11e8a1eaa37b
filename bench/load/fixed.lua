-- One fixed POST request: body and Authorization come from the environment.
wrk.method = "POST"
wrk.path = os.getenv("LOAD_PATH")
wrk.body = os.getenv("LOAD_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local auth = os.getenv("LOAD_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
