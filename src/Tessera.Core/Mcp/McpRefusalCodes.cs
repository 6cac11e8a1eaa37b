namespace Tessera.Core.Mcp;

/// <summary>The reason codes of refusals of MCP messages (docs/reference/refusals.md).</summary>
public static class McpRefusalCodes
{
    public const string InvalidJson = "mcp.invalid_json";
    public const string DuplicateMember = "mcp.duplicate_member";
    public const string Batch = "mcp.batch";
    public const string NotJsonRpc = "mcp.not_jsonrpc";
    public const string ParamsInvalid = "mcp.params_invalid";
    public const string HeaderMismatch = "mcp.header_mismatch";
    public const string NotAllowed = "mcp.not_allowed";
    public const string NotExactCall = "mcp.not_the_approved_call";
    public const string WrongEndpoint = "mcp.wrong_endpoint";
    public const string MethodNotAllowed = "mcp.http_method_not_allowed";
    public const string NotJsonBody = "mcp.not_json_content_type";
}
