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
    IReadOnlyList<string> AuthMethods, IReadOnlyList<string> AllowedScopes, string? MaxTtl, IReadOnlyList<string> MayDelegateTo)
{
    /// <summary>True while any client secret is configured (expired or not): the agent still relies on a static secret.</summary>
    public bool StaticSecret { get; init; }

    /// <summary>Each configured secret's expiry and status, in configuration order; never the hash. Omitted when none.</summary>
    public IReadOnlyList<ClientSecretView>? ClientSecrets { get; init; }

    /// <summary>The identity provider and subject that authenticate a federated agent.</summary>
    public FederatedView? Federated { get; init; }
}

/// <summary>One client secret as the admin API shows it: <c>expires</c> (absent: until removed) and <c>active</c> or <c>expired</c>.</summary>
internal sealed record ClientSecretView(string? Expires, string Status);

internal sealed record FederatedView(string Idp, string Sub);

internal sealed record AgentList(IReadOnlyList<AgentView> Agents);

internal sealed record KeyView(string Kid, string CreatedAt, string ActivatesAt, string Status);

internal sealed record KeyList(IReadOnlyList<KeyView> Keys);

internal sealed record RevokeRequest(string? Kind, string? Id, string? Token);

internal sealed record RevocationView(string Kind, string Id, string RevokedAt, string ExpiresAt);

internal sealed record MissionView(string Id, string Principal, string Idp, IReadOnlyList<string> ActorChain, string? Purpose,
    string StartedAt, string ExpiresAt, string Status, long Tokens);

internal sealed record MissionList(IReadOnlyList<MissionView> Missions);

internal sealed record AgentStateView(string Id, string Status);
