using System.Text;
using System.Text.Json;
using Tessera.Core.Protocol;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Mcp;

/// <summary>
/// RFC 9396 <c>authorization_details</c> of type <c>tessera_mcp_call</c> (docs/mcp.md, "Exact-call
/// approvals"): the one MCP tool call an approval is bound to, by the tool, the name called and
/// <c>arguments_sha256</c>, the SHA-256 of the RFC 8785 canonical JSON of <c>params.arguments</c>
/// (absent arguments count as <c>{}</c>). The agent may send the <c>arguments</c> themselves with
/// its request so the approver sees them: they must hash to <c>arguments_sha256</c>, are kept with
/// the pending approval (canonical, at most <see cref="MaxArgumentsBytes"/>), and are never in the
/// token, an audit event or a log.
/// </summary>
public sealed record McpCallDetail(string Tool, string Name, string ArgumentsSha256)
{
    public const string Type = "tessera_mcp_call";

    /// <summary>The largest canonical arguments kept for the approver (the token request's form is at most 64 KiB).</summary>
    public const int MaxArgumentsBytes = 32 * 1024;

    /// <summary>
    /// The deepest arguments kept for the approver: the approval list holds them 3 levels down, and a
    /// reader allowing the common 64 levels (System.Text.Json's default, the admin API's writer) must
    /// read the whole list; one agent's deeper arguments made it a 500 for every approver.
    /// </summary>
    public const int MaxArgumentsDepth = 61;

    /// <summary>SHA-256 of <c>{}</c>: the hash of a call without arguments.</summary>
    public const string NoArgumentsSha256 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = McpMessage.MaxDepth };

    /// <summary>The canonical JSON array carried by the approval and the token (without the arguments).</summary>
    public string ToJson() => AuthorizationDetail.Write(Type, w =>
    {
        w.WriteString("tool", Tool);
        w.WriteString("name", Name);
        w.WriteString("arguments_sha256", ArgumentsSha256);
    });

    /// <summary>Reads the detail from a token this server signed; null when it is not exactly one <c>tessera_mcp_call</c> (a refusal for callers).</summary>
    public static McpCallDetail? FromClaim(string json) => AuthorizationDetail.Read(json, Type, o =>
        AuthorizationDetail.String(o, "tool") is { } tool && AuthorizationDetail.String(o, "name") is { } name && AuthorizationDetail.String(o, "arguments_sha256") is { } hash
            ? new McpCallDetail(tool, name, hash)
            : null);

    /// <summary>
    /// Parses and checks a token request's <c>authorization_details</c> against the tool and the
    /// requested scopes. Returns null with the problem otherwise. <paramref name="arguments"/> is the
    /// canonical JSON of the arguments the agent sent for the approver, or null when it sent none.
    /// </summary>
    public static McpCallDetail? Parse(string text, Tool tool, ScopeSet scopes, out string? arguments, out string? problem)
    {
        arguments = null;
        problem = null;
        if (Encoding.UTF8.GetByteCount(text) > MaxArgumentsBytes + 4096)
        {
            problem = $"authorization_details must be at most {MaxArgumentsBytes + 4096} bytes";
            return null;
        }

        if (AuthorizationDetail.ParseOne(text, Strict, "authorization_details is not JSON (or names a member twice)", out problem) is not { } detail)
        {
            return null;
        }

        string? type = null, toolId = null, name = null, hash = null;
        JsonElement? args = null;
        foreach (var member in detail.EnumerateObject())
        {
            switch (AuthorizationDetail.Text(member))
            {
                case "arguments":
                    args = member.Value;
                    continue;
                case "type" or "tool" or "name" or "arguments_sha256" when member.Value.ValueKind == JsonValueKind.String && AuthorizationDetail.Text(member.Value) is { } value:
                    switch (member.Name)
                    {
                        case "type": type = value; break;
                        case "tool": toolId = value; break;
                        case "name": name = value; break;
                        default: hash = value; break;
                    }

                    continue;
                case "type" or "tool" or "name" or "arguments_sha256":
                    problem = $"authorization_details member '{member.Name}' must be a string";
                    return null;
                default:
                    // Reject members we do not know: nothing is ignored silently.
                    problem = "authorization_details has an unknown member";
                    return null;
            }
        }

        if (type != Type)
        {
            problem = $"authorization_details type must be '{Type}' for an MCP tool";
            return null;
        }

        if (toolId != tool.Id)
        {
            problem = $"authorization_details tool must be '{tool.Id}', the tool of this request";
            return null;
        }

        if (name is null || name.Length is 0 or > McpMessage.MaxTargetLength)
        {
            problem = $"authorization_details name must be 1 to {McpMessage.MaxTargetLength} characters";
            return null;
        }

        if (hash is null || hash.Length != 64 || !hash.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            problem = "authorization_details arguments_sha256 must be 64 lower-case hex digits";
            return null;
        }

        if (args is { } given)
        {
            // The approver must see exactly the call that will be let through: the arguments shown hash to the bound value.
            if (given.ValueKind != JsonValueKind.Object)
            {
                problem = "authorization_details arguments must be an object, as an MCP tool call's arguments are";
                return null;
            }

            if (!JsonCanonical.TryCanonicalize(given, out var canonical, out var refusal, exactNumbers: true))
            {
                problem = $"authorization_details arguments have no single canonical form ({refusal})";
                return null;
            }

            if (canonical.Length > MaxArgumentsBytes)
            {
                problem = $"authorization_details arguments must be at most {MaxArgumentsBytes} bytes in canonical form";
                return null;
            }

            if (Depth(given) > MaxArgumentsDepth)
            {
                problem = $"authorization_details arguments must nest at most {MaxArgumentsDepth} levels to be shown to the approver (bind deeper ones by arguments_sha256 alone)";
                return null;
            }

            if (Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(canonical)) != hash)
            {
                problem = "authorization_details arguments_sha256 is not the SHA-256 of the canonical JSON (RFC 8785) of arguments";
                return null;
            }

            arguments = Encoding.UTF8.GetString(canonical);
        }

        // Reject calls none of the requested scopes would let through: an approver never sees a call the token could not make.
        if (!scopes.Any(s => tool.McpRules.TryGetValue(s, out var rules) && rules.Any(r => r.Matches(McpMethods.ToolsCall, name))))
        {
            problem = $"no requested scope allows tools/call {DisplayText.Clip(name)}";
            return null;
        }

        return new McpCallDetail(toolId, name, hash);
    }

    /// <summary>Why <paramref name="message"/> is not the approved call, or null when it is: a <c>tools/call</c> of that name with arguments of that hash.</summary>
    public string? Mismatch(McpMessage message)
    {
        if (message.Method != McpMethods.ToolsCall || !string.Equals(message.Target, Name, StringComparison.Ordinal))
        {
            return $"the approval allows only tools/call {DisplayText.Clip(Name)}";
        }

        string? hash;
        if (message.Arguments is not { } args)
        {
            hash = NoArgumentsSha256;
        }
        else if (!JsonCanonical.TrySha256Hex(args, out hash, out _, exactNumbers: true))
        {
            return "the call's arguments have no single canonical form";
        }

        return string.Equals(hash, ArgumentsSha256, StringComparison.Ordinal) ? null : "the call's arguments are not the approved ones";
    }

    /// <summary>How many objects and arrays deep <paramref name="value"/> nests (a scalar is 0); bounded by the parser's depth.</summary>
    private static int Depth(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => 1 + value.EnumerateObject().Select(m => Depth(m.Value)).DefaultIfEmpty(0).Max(),
        JsonValueKind.Array => 1 + value.EnumerateArray().Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };
}
