using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Mcp;

/// <summary>
/// Filtered discovery (docs/mcp.md): an answer to <c>tools/list</c>, <c>prompts/list</c>,
/// <c>resources/list</c> or <c>resources/templates/list</c> shows a token only the entries its
/// scopes' rules would let it call, get or read, so an agent does not learn that a forbidden tool
/// exists. Everything else in the answer (<c>nextCursor</c>, <c>_meta</c>, other members) passes as
/// it came. An entry without the member a rule matches is dropped; an answer that is not JSON
/// Tessera reads unambiguously (a member name twice, say) is refused whole.
/// </summary>
public sealed class McpListFilter
{
    /// <summary>The largest single message filtered; a larger list answer is refused rather than passed unread.</summary>
    public const int MaxMessageBytes = 16 * 1024 * 1024;

    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = McpMessage.MaxDepth };

    // Rewritten answers are JSON read by JSON clients, never embedded in HTML: no need to escape non-ASCII text.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly McpListKind[] Lists = [McpListKind.Tools, McpListKind.Prompts, McpListKind.Resources, McpListKind.ResourceTemplates];

    private readonly McpRule[] _call;
    private readonly McpRule[] _get;
    private readonly McpRule[] _read;

    /// <param name="tool">The MCP tool answering.</param>
    /// <param name="scopes">The token's scopes: only their rules count.</param>
    public McpListFilter(Tool tool, ScopeSet scopes)
    {
        var granted = new List<McpRule>();
        foreach (var scope in scopes)
        {
            if (tool.McpRules.TryGetValue(scope, out var rules))
            {
                granted.AddRange(rules);
            }
        }

        _call = [.. granted.Where(r => r.Method == McpMethods.ToolsCall)];
        _get = [.. granted.Where(r => r.Method == McpMethods.PromptsGet)];
        _read = [.. granted.Where(r => r.Method == McpMethods.ResourcesRead)];
    }

    /// <summary>The list an answer to <paramref name="method"/> carries, or <see cref="McpListKind.None"/>.</summary>
    public static McpListKind KindOf(string? method) => method switch
    {
        McpMethods.ToolsList => McpListKind.Tools,
        McpMethods.PromptsList => McpListKind.Prompts,
        McpMethods.ResourcesList => McpListKind.Resources,
        McpMethods.ResourceTemplatesList => McpListKind.ResourceTemplates,

        // The server's own stream answers nothing Tessera saw: any list in it is filtered, as on a GET stream.
        McpMethods.SubscriptionsListen => McpListKind.Any,
        _ => McpListKind.None,
    };

    /// <summary>
    /// Filters one JSON-RPC message of an answer. A response whose <c>result</c> holds the list
    /// <paramref name="kind"/> names (every one present for <see cref="McpListKind.Any"/>) is rewritten into
    /// <paramref name="output"/> without the entries the token may not use; any other message is
    /// <see cref="McpFilterOutcome.Unchanged"/> and nothing is written; a refused message writes nothing either.
    /// </summary>
    public McpFilterOutcome Filter(ReadOnlyMemory<byte> message, McpListKind kind, IBufferWriter<byte> output)
    {
        if (kind == McpListKind.None)
        {
            return McpFilterOutcome.Unchanged;
        }

        // JsonDocument checks the bytes of a string only when it is read: check them all once, so a
        // name that is not UTF-8 is refused rather than thrown while the entries are matched.
        if (message.Length > MaxMessageBytes || !Utf8.IsValid(message.Span))
        {
            return McpFilterOutcome.Refused;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message, Strict);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: the duplicate check reads every member name, and a name that
            // escapes half a surrogate pair throws there; refused like any answer that cannot be read.
            return McpFilterOutcome.Refused;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                // A batch of answers: MCP has none over Streamable HTTP, and Tessera forwards no batch.
                return root.ValueKind == JsonValueKind.Array ? McpFilterOutcome.Refused : McpFilterOutcome.Unchanged;
            }

            if (!root.TryGetProperty("result"u8, out var result) || result.ValueKind != JsonValueKind.Object || !HasList(result, kind))
            {
                return McpFilterOutcome.Unchanged;
            }

            // Written aside first: a string escaping half a surrogate pair throws only when it is read
            // or written, and a refused answer must leave nothing of itself in the output.
            var rewritten = new ArrayBufferWriter<byte>(message.Length);
            try
            {
                Rewrite(root, result, kind, rewritten);
            }
            catch (InvalidOperationException)
            {
                return McpFilterOutcome.Refused;
            }

            output.Write(rewritten.WrittenSpan);
            return McpFilterOutcome.Rewritten;
        }
    }

    private void Rewrite(JsonElement root, JsonElement result, McpListKind kind, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, WriterOptions);
        writer.WriteStartObject();
        foreach (var member in root.EnumerateObject())
        {
            if (!member.NameEquals("result"u8))
            {
                member.WriteTo(writer);
                continue;
            }

            writer.WritePropertyName(member.Name);
            writer.WriteStartObject();
            foreach (var inner in result.EnumerateObject())
            {
                if (ListOf(inner, kind) is not { } list)
                {
                    inner.WriteTo(writer);
                    continue;
                }

                writer.WritePropertyName(inner.Name);
                writer.WriteStartArray();
                foreach (var entry in inner.Value.EnumerateArray())
                {
                    if (Shows(list, entry))
                    {
                        entry.WriteTo(writer);
                    }
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>Whether a result holds the list <paramref name="kind"/> names, or for <see cref="McpListKind.Any"/> any list.</summary>
    private static bool HasList(JsonElement result, McpListKind kind)
    {
        foreach (var candidate in Lists)
        {
            if ((kind == McpListKind.Any || kind == candidate)
                && result.TryGetProperty(MemberOf(candidate), out var list) && list.ValueKind == JsonValueKind.Array)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Which list a member of a result is, when it is one to filter: the one <paramref name="kind"/>
    /// names, or for <see cref="McpListKind.Any"/> every list present (an answer whose request is not
    /// known could otherwise carry a second list past the filter).
    /// </summary>
    private static McpListKind? ListOf(JsonProperty member, McpListKind kind)
    {
        if (member.Value.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var candidate in Lists)
        {
            if ((kind == McpListKind.Any || kind == candidate) && member.NameEquals(MemberOf(candidate)))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string MemberOf(McpListKind kind) => kind switch
    {
        McpListKind.Tools => "tools",
        McpListKind.Prompts => "prompts",
        McpListKind.Resources => "resources",
        _ => "resourceTemplates",
    };

    /// <summary>Whether the token may see <paramref name="entry"/>: the same rules that would let it call, get or read it.</summary>
    private bool Shows(McpListKind kind, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (kind == McpListKind.ResourceTemplates)
        {
            return _read.Any(r => r.Pattern is null || r.Pattern.Text == "**");
        }

        var (rules, member) = kind switch
        {
            McpListKind.Tools => (_call, "name"),
            McpListKind.Prompts => (_get, "name"),
            _ => (_read, "uri"),
        };
        if (!entry.TryGetProperty(member, out var target) || target.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = target.GetString()!;
        foreach (var rule in rules)
        {
            if (rule.Pattern is null || rule.Pattern.Matches(text))
            {
                return true;
            }
        }

        return false;
    }
}
