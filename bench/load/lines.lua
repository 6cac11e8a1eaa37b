-- One POST per line of LOAD_LINES (a client assertion or a token, each used once): the body is
-- LOAD_PREFIX .. line. Threads take disjoint lines; if a thread runs out it wraps, and the
-- replayed requests show up as non-2xx responses in the report.
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
  prefix = os.getenv("LOAD_PREFIX")
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local auth = os.getenv("LOAD_AUTH")
  if auth and auth ~= "" then
    headers["Authorization"] = auth
  end
end

function request()
  index = index + 1
  if index > #lines then index = 1 end
  return wrk.format("POST", path, headers, prefix .. lines[index])
end
