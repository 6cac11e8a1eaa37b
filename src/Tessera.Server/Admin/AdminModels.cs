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
    /// <summary>Whole days until the registration expires, on the server's clock (0 once expired).</summary>
    public int DaysLeft { get; init; }

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

/// <summary>An approval as an approver sees it: who asks, for whom, for what, why, and what became of it.</summary>
internal sealed record ApprovalView(string Id, string Status, string Agent, string? Principal, string? Idp, IReadOnlyList<string> ActorChain, string Tool,
    IReadOnlyList<string> Scopes, IReadOnlyList<string> GatedScopes, string? Mission, string? Purpose, string? Reason, JsonElement? AuthorizationDetails,
    JsonElement? Arguments, string Group, string CreatedAt, string ExpiresAt, string Ttl, int MaxUses, string? DecidedBy, string? DecidedAt, string? Comment, string? RevokedBy, string? RevokedAt)
{
    public static ApprovalView From(Core.Approvals.ApprovalRequest a) => new(a.Id, a.Status, a.ClientId, a.Principal, a.Idp, a.ActorChain, a.Tool,
        a.Scopes, a.GatedScopes, a.Mission, a.Purpose, a.Reason,
        a.AuthorizationDetails is null ? null : JsonDocument.Parse(a.AuthorizationDetails).RootElement.Clone(),
        a.Arguments is null ? null : JsonDocument.Parse(a.Arguments).RootElement.Clone(),
        a.Group, Core.Audit.AuditEvent.FormatTime(a.CreatedAt), Core.Audit.AuditEvent.FormatTime(a.ExpiresAt), Core.Configuration.Durations.Format(a.Ttl), a.MaxUses,
        a.DecidedBy, a.DecidedAt is { } at ? Core.Audit.AuditEvent.FormatTime(at) : null, a.Comment,
        a.RevokedBy, a.RevokedAt is { } revokedAt ? Core.Audit.AuditEvent.FormatTime(revokedAt) : null);
}

internal sealed record ApprovalList(IReadOnlyList<ApprovalView> Approvals);

internal sealed record LeaseView(string Id, string Tool, string Username, string Status, string Agent, string? Principal, IReadOnlyList<string> ActorChain,
    string? Mission, string? Purpose, IReadOnlyList<string> Scopes, string CreatedAt, string ExpiresAt, string? EndedAt, string? EndReason, int Attempts,
    string? NextAttemptAt, string? LastError, string? Node);

internal sealed record LeaseList(IReadOnlyList<LeaseView> Leases);

internal sealed record LeaseRevokeRequest(bool? Force);

/// <summary>What <c>POST /admin/v1/config/reload</c> answers when the new configuration runs.</summary>
internal sealed record ConfigReloadView(bool Reloaded, string ConfigHash, string PreviousHash, IReadOnlyList<string> Changes, IReadOnlyList<string> Warnings);

/// <summary>The configuration a node runs: its hash, when it was loaded, and from which file.</summary>
internal sealed record RunningConfigView(string Hash, string LoadedAt, string? File);

/// <summary>A node of the installation as <c>GET /admin/v1/status</c> lists it.</summary>
internal sealed record NodeView(string Node, string ConfigHash, string LoadedAt, string SeenAt);

/// <summary><c>GET /admin/v1/status</c>: this node, its configuration, and every node seen recently with theirs.</summary>
internal sealed record StatusView(string Node, bool Ready, RunningConfigView Config, IReadOnlyList<NodeView> Nodes, bool NodesAgree);
