-- One request per line of LOAD_LINES (a client assertion, a token or a DPoP proof, each used once).
-- By default a POST whose body is LOAD_PREFIX .. line; with LOAD_LINE_HEADER set, a LOAD_METHOD
-- (default GET) request without a body that carries the line in that header (the proxy with DPoP:
-- LOAD_LINE_HEADER=DPoP, LOAD_AUTH="DPoP <token>"). Threads take disjoint lines; if a thread runs
-- out it wraps, and the replayed requests show up as non-2xx responses in the report.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local threads = tonumber(os.getenv("LOAD_THREADS"))
  lines = {}
  local n = 0
  for line in io.lines(os.getenv("LOAD_LINES")) do
    if n % threads == id then
      table.insert(lines, line)
    end
    n = n + 1
  end
  index = 0
  path = os.getenv("LOAD_PATH")
  prefix = os.getenv("LOAD_PREFIX") or ""
  header = os.getenv("LOAD_LINE_HEADER")
  if header == "" then header = nil end
  headers = {}
  if header then
    method = os.getenv("LOAD_METHOD") or "GET"
  else
    method = os.getenv("LOAD_METHOD") or "POST"
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  local auth = os.getenv("LOAD_AUTH")
  if auth and auth ~= "" then
    headers["Authorization"] = auth
  end
end

function request()
  index = index + 1
  if index > #lines then index = 1 end
  if header then
    headers[header] = lines[index]
    return wrk.format(method, path, headers)
  end
  return wrk.format(method, path, headers, prefix .. lines[index])
end
