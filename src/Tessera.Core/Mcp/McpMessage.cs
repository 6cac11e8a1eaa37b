using Tessera.Core.Protocol;
using System.Text.Json;
using System.Text.Unicode;

namespace Tessera.Core.Mcp;

/// <summary>
/// The one JSON-RPC message of an MCP POST, read strictly (docs/mcp.md, "What Tessera checks"):
/// valid UTF-8 JSON, no member name twice at any depth, not even in another case, and no member
/// Tessera reads spelled in another case (so Tessera and the upstream, even one reading names
/// case-insensitively, can never read different names from the same body), at most
/// <see cref="MaxDepth"/> levels, one object (a batch
/// array is refused), <c>"jsonrpc": "2.0"</c>, and for a method with a target a string
/// <c>params.name</c> or <c>params.uri</c>. What is read here is what the rules decide on; the body
/// forwarded is these same bytes.
/// </summary>
public sealed class McpMessage
{
    /// <summary>The deepest nesting accepted; arguments deeper than this are refused, not truncated.</summary>
    public const int MaxDepth = 64;

    /// <summary>The longest name or URI a rule is matched against.</summary>
    public const int MaxTargetLength = 4096;

    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = MaxDepth };
    private static readonly JsonDocumentOptions Lenient = new() { AllowDuplicateProperties = true, MaxDepth = MaxDepth };

    /// <summary>The members of a message Tessera reads, and of its params: none may come in another case.</summary>
    private static readonly string[] MessageMembers = ["jsonrpc", "id", "method", "params", "result", "error"];
    private static readonly string[] ParamsMembers = ["name", "uri", "arguments"];

    private static readonly McpProblem InvalidJson = new(RefusalCodes.McpInvalidJson, $"the body is not valid UTF-8 JSON nested at most {MaxDepth} deep");
    private static readonly McpProblem HalfSurrogate = new(RefusalCodes.McpInvalidJson, "a string of the body escapes half of a surrogate pair");

    private McpMessage(McpMessageKind kind, string? method, string? id, string? target, JsonElement? arguments)
    {
        Kind = kind;
        Method = method;
        Id = id;
        Target = target;
        Arguments = arguments;
    }

    public McpMessageKind Kind { get; }

    /// <summary>The JSON-RPC method; null for a response.</summary>
    public string? Method { get; }

    /// <summary>The <c>id</c> as it was written (<c>"a1"</c> or <c>7</c>), for an error that answers it; null for a notification.</summary>
    public string? Id { get; }

    /// <summary><c>params.name</c> or <c>params.uri</c> for a method that has a target (<see cref="McpMethods.TargetOf"/>); otherwise null.</summary>
    public string? Target { get; }

    /// <summary><c>params.arguments</c> of a <c>tools/call</c>, kept only when asked for (an exact-call check); detached from the body.</summary>
    public JsonElement? Arguments { get; }

    /// <summary>Whether the session's lifecycle (or an answer to the server) rather than an action: needs a valid token and no rule.</summary>
    public bool IsLifecycle => Kind == McpMessageKind.Response || McpMethods.IsLifecycle(Method!);

    /// <summary>Reads one message, or returns null and the refusal (never echoing the body).</summary>
    /// <param name="body">The whole POST body.</param>
    /// <param name="keepArguments">Keep <c>params.arguments</c> of a <c>tools/call</c> (a copy) for an exact-call check.</param>
    /// <param name="problem">Why the body is refused.</param>
    public static McpMessage? Parse(ReadOnlyMemory<byte> body, bool keepArguments, out McpProblem? problem)
    {
        // JsonDocument checks the bytes of a string only when the string is read: a body whose bytes
        // are not UTF-8 would pass here with arguments an upstream decodes one way or another, and
        // reading its method or name would throw. One vectorized pass refuses it whole.
        if (!Utf8.IsValid(body.Span))
        {
            problem = InvalidJson;
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Strict);
        }
        catch (JsonException)
        {
            problem = Classify(body);
            return null;
        }
        catch (InvalidOperationException)
        {
            // The duplicate check reads every member name: one escaping half a surrogate pair throws
            // here (not JsonException), and would otherwise fail the request with a 5xx.
            problem = HalfSurrogate;
            return null;
        }

        using (document)
        {
            try
            {
                return Read(document.RootElement, keepArguments, out problem);
            }
            catch (InvalidOperationException)
            {
                // A string Tessera reads (method, name, uri) escapes half a surrogate pair: it is no
                // text, and Tessera and the upstream could read it differently.
                problem = HalfSurrogate;
                return null;
            }
        }
    }

    private static McpMessage? Read(JsonElement root, bool keepArguments, out McpProblem? problem)
    {
        problem = null;
        if (root.ValueKind == JsonValueKind.Array)
        {
            problem = new(RefusalCodes.McpBatch, "a POST carries one JSON-RPC message; batches are not accepted");
            return null;
        }

        if (HasNamesDifferingOnlyInCase(root, new HashSet<string>(StringComparer.OrdinalIgnoreCase)))
        {
            problem = new(RefusalCodes.McpDuplicateMember, "two member names of one object differ only in case; a server reading names case-insensitively could read the other");
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("jsonrpc"u8, out var version) || version.ValueKind != JsonValueKind.String || !version.ValueEquals("2.0"u8))
        {
            problem = new(RefusalCodes.McpNotJsonRpc, "the body is not a JSON-RPC 2.0 message");
            return null;
        }

        if (NamesAnotherCase(root, MessageMembers))
        {
            problem = new(RefusalCodes.McpNotJsonRpc, "a member of the message is named jsonrpc, id, method, params, result or error in another case");
            return null;
        }

        string? id = null;
        if (root.TryGetProperty("id"u8, out var idElement))
        {
            // MCP: an id is a string or an integer, never null.
            if (idElement.ValueKind is not (JsonValueKind.String or JsonValueKind.Number) || idElement.GetRawText() is { Length: > 256 })
            {
                problem = new(RefusalCodes.McpNotJsonRpc, "the id must be a string or a number");
                return null;
            }

            id = idElement.GetRawText();
        }

        if (!root.TryGetProperty("method"u8, out var methodElement))
        {
            var answers = (root.TryGetProperty("result"u8, out _) ? 1 : 0) + (root.TryGetProperty("error"u8, out _) ? 1 : 0);
            if (id is null || answers != 1)
            {
                problem = new(RefusalCodes.McpNotJsonRpc, "a message without a method must be a response: an id and one of result or error");
                return null;
            }

            return new McpMessage(McpMessageKind.Response, null, id, null, null);
        }

        if (methodElement.ValueKind != JsonValueKind.String || methodElement.GetString() is not { Length: > 0 and <= McpMethods.MaxMethodLength } method)
        {
            problem = new(RefusalCodes.McpNotJsonRpc, "the method must be a non-empty string");
            return null;
        }

        var hasParams = root.TryGetProperty("params"u8, out var parameters);
        if (hasParams && parameters.ValueKind != JsonValueKind.Object)
        {
            problem = new(RefusalCodes.McpParamsInvalid, "params must be an object");
            return null;
        }

        if (hasParams && NamesAnotherCase(parameters, ParamsMembers))
        {
            problem = new(RefusalCodes.McpParamsInvalid, "a member of params is named name, uri or arguments in another case");
            return null;
        }

        var kind = id is null ? McpMessageKind.Notification : McpMessageKind.Request;
        var targetKind = McpMethods.TargetOf(method);
        if (targetKind == McpTarget.None)
        {
            return new McpMessage(kind, method, id, null, null);
        }

        var member = targetKind == McpTarget.Name ? "name" : "uri";
        if (!hasParams || !parameters.TryGetProperty(member, out var targetElement) || targetElement.ValueKind != JsonValueKind.String)
        {
            problem = new(RefusalCodes.McpParamsInvalid, $"{method} needs params.{member} as a string");
            return null;
        }

        var target = targetElement.GetString()!;
        if (target.Length is 0 or > MaxTargetLength)
        {
            problem = new(RefusalCodes.McpParamsInvalid, $"params.{member} must be 1 to {MaxTargetLength} characters");
            return null;
        }

        JsonElement? arguments = null;
        if (keepArguments && method == McpMethods.ToolsCall && parameters.TryGetProperty("arguments"u8, out var args))
        {
            arguments = args.Clone();
        }

        return new McpMessage(kind, method, id, target, arguments);
    }

    /// <summary>
    /// Whether <paramref name="obj"/> has a member named like one of <paramref name="read"/> but in
    /// another case: Tessera reads the names exactly, a case-insensitive server would read that
    /// member as the one Tessera did not see (a <c>Method</c> beside a <c>result</c> turns what
    /// Tessera takes for a response into a call).
    /// </summary>
    private static bool NamesAnotherCase(JsonElement obj, string[] read)
    {
        foreach (var member in obj.EnumerateObject())
        {
            if (IsOneOf(member, read))
            {
                continue;
            }

            var text = member.Name; // only a member Tessera does not read is spelled out
            foreach (var name in read)
            {
                if (text.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsOneOf(JsonProperty member, string[] names)
    {
        foreach (var name in names)
        {
            if (member.NameEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether some object of <paramref name="element"/> holds two member names equal but for case.
    /// The strict read refuses a name twice; a server that reads names case-insensitively
    /// (System.Text.Json with <c>PropertyNameCaseInsensitive</c>, common among MCP servers on .NET)
    /// would still take <c>Name</c> after <c>name</c>, and act on another tool than the rule allowed.
    /// </summary>
    /// <param name="element">The value to search, the whole message at first.</param>
    /// <param name="names">One set, reused: each object's names are compared before any value inside it is visited.</param>
    private static bool HasNamesDifferingOnlyInCase(JsonElement element, HashSet<string> names)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            names.Clear();
            foreach (var member in element.EnumerateObject())
            {
                if (!names.Add(member.Name))
                {
                    return true;
                }
            }

            foreach (var member in element.EnumerateObject())
            {
                if (HasNamesDifferingOnlyInCase(member.Value, names))
                {
                    return true;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                if (HasNamesDifferingOnlyInCase(item, names))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Says why a body that failed the strict read is refused. Only on the refusal path: the body is
    /// read again, leniently, to tell a repeated member name from JSON that is broken anyway.
    /// </summary>
    private static McpProblem Classify(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body, Lenient);
            return new(RefusalCodes.McpDuplicateMember, "a member name appears twice in one object; Tessera and the server could read different values");
        }
        catch (JsonException)
        {
            return InvalidJson;
        }
    }
}
