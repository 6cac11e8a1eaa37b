namespace Tessera.Core.Storage;

/// <summary>
/// Everything Tessera persists, behind ports that the SQLite (embedded) and PostgreSQL
/// (several nodes) stores implement. Core never sees SQL.
/// </summary>
public interface ITesseraStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema to the version this build expects; refuses a schema newer than that.</summary>
    Task<SchemaMigration> MigrateAsync(CancellationToken cancellationToken);

    IAuditStore Audit { get; }

    IRevocationStore Revocations { get; }

    ISigningKeyStore SigningKeys { get; }

    IMissionStore Missions { get; }

    IAgentStateStore AgentStates { get; }

    IReplayStore Replays { get; }

    ISecretStore Secrets { get; }

    ITokenUseStore TokenUses { get; }

    IApprovalStore Approvals { get; }

    /// <summary>The usage counters of the posture report.</summary>
    IUsageStore Usage { get; }

    /// <summary>The database leases handed out and being ended.</summary>
    Leases.ILeaseStore Leases { get; }

    /// <summary>The change log other nodes on the same database write, or null for a store that is one node by construction.</summary>
    IChangeFeed? Changes => null;

    /// <summary>Which configuration each node runs, or null for a store that is one node by construction.</summary>
    INodeStatusStore? Nodes => null;
}
