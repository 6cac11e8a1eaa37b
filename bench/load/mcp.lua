-- One fixed MCP message (Streamable HTTP, 2026-07-28: every POST stands alone): LOAD_BODY is the
-- JSON-RPC request, LOAD_MCP_METHOD and LOAD_MCP_NAME its method and tool name for the Mcp-Method
-- and Mcp-Name headers (LOAD_MCP_NAME empty for a message that names nothing), Authorization from
-- LOAD_AUTH (Tessera's token) when set; the upstream called directly gets its credential that way too.
wrk.method = "POST"
wrk.path = os.getenv("LOAD_PATH")
wrk.body = os.getenv("LOAD_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = os.getenv("LOAD_MCP_METHOD")
local name = os.getenv("LOAD_MCP_NAME")
if name and name ~= "" then
  wrk.headers["Mcp-Name"] = name
end
local auth = os.getenv("LOAD_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
