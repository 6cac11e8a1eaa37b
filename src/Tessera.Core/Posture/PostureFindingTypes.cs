namespace Tessera.Core.Posture;

/// <summary>The stable finding types of the posture report; each is explained in docs/posture.md.</summary>
public static class PostureFindingTypes
{
    public const string AgentExpired = "agent.expired";
    public const string AgentExpiringSoon = "agent.expiring_soon";
    public const string AgentStale = "agent.stale";
    public const string AgentUnusedScope = "agent.unused_scope";
    public const string AgentLongTtl = "agent.long_ttl";
    public const string AgentSecretAuth = "agent.secret_auth";
    public const string SecretNotRotated = "secret.not_rotated";
    public const string LeaseRevokeFailing = "lease.revoke_failing";
    public const string RuleWriteWildcard = "rule.write_wildcard";
    public const string DelegationWidensReach = "delegation.widens_reach";
    public const string AuditSinkFailing = "audit.sink_failing";
    public const string AuditSinkBehind = "audit.sink_behind";
    public const string ConfigNodesDiffer = "config.nodes_differ";

    public static IReadOnlyList<string> All { get; } =
    [
        AgentExpired, AgentExpiringSoon, AgentStale, AgentUnusedScope, AgentLongTtl, AgentSecretAuth, SecretNotRotated, LeaseRevokeFailing, RuleWriteWildcard, DelegationWidensReach,
        AuditSinkFailing, AuditSinkBehind, ConfigNodesDiffer,
    ];
}
