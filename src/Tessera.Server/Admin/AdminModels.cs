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

internal sealed record MissionView(string Id, string Principal, string Idp, IReadOnlyList<string> ActorChain, string? Purpose,
    string StartedAt, string ExpiresAt, string Status, long Tokens);

internal sealed record MissionList(IReadOnlyList<MissionView> Missions);

internal sealed record AgentStateView(string Id, string Status);
