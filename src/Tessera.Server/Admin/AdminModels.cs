using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tessera.Server.Admin;

internal static class AdminJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

internal sealed record AgentView(string Id, string Owner, string Purpose, string Expires, string Status,
    IReadOnlyList<string> AuthMethods, IReadOnlyList<string> AllowedScopes, string? MaxTtl, IReadOnlyList<string> MayDelegateTo);

internal sealed record AgentList(IReadOnlyList<AgentView> Agents);

internal sealed record KeyView(string Kid, string CreatedAt, string ActivatesAt, string Status);

internal sealed record KeyList(IReadOnlyList<KeyView> Keys);

internal sealed record RevokeRequest(string? Kind, string? Id, string? Token);

internal sealed record RevocationView(string Kind, string Id, string RevokedAt, string ExpiresAt);
