using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Tessera.Client.Mcp;

namespace Tessera.Client.AI;

/// <summary>
/// Asks Tessera to approve one MCP tool call: a token request for the gated scopes with RFC 9396
/// <c>authorization_details</c> of type <c>tessera_mcp_call</c> (the tool, the name, <c>arguments_sha256</c>
/// and, for the approver to read, the canonical arguments), then the approver's decision by polling.
/// Outside a mission the request is <c>client_credentials</c>; inside one, an exchange of the mission token.
/// </summary>
internal sealed class McpCallApprover(TesseraAgent agent, TesseraApprovalOptions options)
{
    /// <summary>The largest canonical arguments sent for the approver to read (the server keeps at most 32 KiB); larger ones are bound by their hash alone.</summary>
    private const int MaxShownArgumentsBytes = 32 * 1024;

    /// <summary>The deepest arguments the server keeps for the approver; deeper ones are bound by their hash alone.</summary>
    private const int MaxShownArgumentsDepth = 61;

    public async Task<(ApprovedMcpCall? Call, string? Reason)> ApproveAsync(TesseraGatedMcpTool function, FunctionCallContent call, CancellationToken cancellationToken)
    {
        var name = function.McpTool.ProtocolTool.Name;
        using var arguments = ArgumentsAsSent(call, function.McpTool.JsonSerializerOptions);
        var canonical = Jcs.TryCanonicalize(arguments.RootElement, out var refusal);
        if (canonical is null)
        {
            return (null, $"the call's arguments cannot be bound to an approval: {refusal}");
        }

        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(canonical));
        var scope = TokenKey.NormalizeScope(function.Tool, function.Scopes);
        var parameters = new List<KeyValuePair<string, string>>(8);
        if (agent.CurrentMission is { } mission)
        {
            parameters.Add(new("grant_type", TesseraAgent.TokenExchange));
            parameters.Add(new("subject_token", mission.Token));
            parameters.Add(new("subject_token_type", TesseraAgent.AccessTokenType));
        }
        else
        {
            parameters.Add(new("grant_type", "client_credentials"));
        }

        parameters.Add(new("resource", function.Tool));
        parameters.Add(new("scope", scope));
        parameters.Add(new("authorization_details", Detail(function.Tool, name, hash, canonical, arguments.RootElement)));
        if (options.Reason?.Invoke(call) is { Length: > 0 } reason)
        {
            parameters.Add(new("reason", reason));
        }

        ApprovalDecision decision;
        try
        {
            decision = new ApprovalDecision(await agent.Endpoint.RequestTokenAsync(parameters, function.Tool, scope, cancellationToken).ConfigureAwait(false), null);
        }
        catch (TesseraApprovalRequiredException pending)
        {
            options.ApprovalRequested?.Invoke(pending.Approval, call);
            var outcome = await pending.Approval.WaitAsync(cancellationToken).ConfigureAwait(false);
            var described = outcome.ErrorDescription is { Length: > 0 } d ? ": " + d : "";
            decision = new ApprovalDecision(outcome.Token, outcome.Status switch
            {
                ApprovalStatus.Approved => null,
                ApprovalStatus.Denied => "the approver denied the call" + described,
                _ => "the approval expired before anyone decided" + described,
            });
        }
        catch (TesseraTokenException refused)
        {
            return (null, $"Tessera refused to open an approval: {refused.Error}" + (refused.ErrorDescription is { } d ? ": " + d : ""));
        }

        return decision.Token is { } token ? (new ApprovedMcpCall(function.Tool, name, hash, token), null) : (null, decision.Reason);
    }

    /// <summary>The arguments as the MCP client will send them: each value serialized with the tool's serializer options.</summary>
    private static JsonDocument ArgumentsAsSent(FunctionCallContent call, JsonSerializerOptions serializerOptions)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in call.Arguments ?? new Dictionary<string, object?>())
            {
                writer.WritePropertyName(key);
                JsonSerializer.Serialize(writer, value, serializerOptions.GetTypeInfo(typeof(object)));
            }

            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>The <c>authorization_details</c> array: the binding, and the canonical arguments when the server keeps them for the approver.</summary>
    private static string Detail(string tool, string name, string hash, byte[] canonical, JsonElement arguments)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + canonical.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStartObject();
            writer.WriteString("type", "tessera_mcp_call");
            writer.WriteString("tool", tool);
            writer.WriteString("name", name);
            writer.WriteString("arguments_sha256", hash);
            if (canonical.Length <= MaxShownArgumentsBytes && Depth(arguments) <= MaxShownArgumentsDepth)
            {
                writer.WritePropertyName("arguments");
                writer.WriteRawValue(canonical, skipInputValidation: true);
            }

            writer.WriteEndObject();
            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static int Depth(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => 1 + value.EnumerateObject().Select(m => Depth(m.Value)).DefaultIfEmpty(0).Max(),
        JsonValueKind.Array => 1 + value.EnumerateArray().Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };
}
