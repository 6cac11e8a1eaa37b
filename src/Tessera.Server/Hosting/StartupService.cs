using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Server.Hosting;

/// <summary>
/// Brings the broker up before it accepts requests (hosted services start before the server
/// listens): migrate, start the audit writer, load keys and revocations. Prunes expired
/// revocations and keys every minute afterwards.
/// </summary>
internal sealed partial class StartupService(
    ITesseraStore store,
    AuditLog audit,
    AuditCheckpointer checkpoints,
    SigningKeyService keys,
    RevocationService revocations,
    Readiness readiness,
    AdminAuthenticator admins,
    SuspendedAgents suspended,
    MemoryReplayCache replay,
    IReplayStore replays,
    SecretVault vault,
    ITokenUseStore uses,
    Core.Approvals.ApprovalService approvals,
    Core.Cluster.ClusterChangeApplier changes,
    Core.Cluster.ClusterFreshness freshness,
    TesseraConfig config,
    TimeProvider time,
    ILogger<StartupService> logger) : IHostedService, IAsyncDisposable
{
    /// <summary>
    /// How long change log entries are kept: far beyond max_staleness (at most a minute), since a node
    /// that is current has read them within a second; a node cut off longer is stale and, finding
    /// entries it never applied pruned, stays stale until restarted.
    /// </summary>
    internal static readonly TimeSpan ChangeLogRetention = TimeSpan.FromDays(1);

    private ITimer? _pruneTimer;
    private readonly CancellationTokenSource _stopSync = new();
    private Task _sync = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Accepted, but weakening security: said before anything else, where the operator looks.
        foreach (var warning in config.Warnings)
        {
            Log.ConfigWarning(logger, warning.Code, warning.ToString());
        }

        await store.MigrateAsync(cancellationToken);
        await audit.StartAsync(cancellationToken);

        // One node of several: note the change log's head before loading, so whatever another node
        // commits while this one loads is applied after (ClusterSync).
        var sync = store.Changes is { } feed ? new Core.Cluster.ClusterSync(feed, changes, freshness, time) : null;
        if (sync is not null)
        {
            await sync.StartAsync(cancellationToken);
        }

        await keys.InitializeAsync(cancellationToken);
        // The ring of the moment: a rotation replaces it, and checkpoints follow the key that signs now.
        checkpoints.SignWith(now => keys.Ring.SigningKeyAt(now));
        await revocations.LoadAsync(cancellationToken);
        await suspended.LoadAsync(cancellationToken);
        await vault.LoadAsync(cancellationToken);
        await approvals.LoadAsync(cancellationToken);
        foreach (var broken in vault.FindBroken())
        {
            Log.SecretBroken(logger, broken.ToString());
        }

        foreach (var missing in vault.MissingSecrets())
        {
            Log.SecretMissing(logger, missing);
        }

        foreach (var rollback in vault.RolledBack())
        {
            Log.SecretRolledBack(logger, rollback.Name, rollback.Stored, rollback.Recorded);
        }

        foreach (var (key, expiresAt) in await replays.LoadActiveAsync(time.GetUtcNow(), cancellationToken))
        {
            replay.Remember(key, expiresAt);
        }
        // Resolving the admin authenticator writes the bootstrap token file before the first request.
        _ = admins;
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ServerStarted,
            Outcome = AuditOutcomes.Allowed,
            Reason = $"issuer {config.Server.Issuer}, {config.Agents.Count} agents, {config.Tools.Count} tools",
            ConfigHash = config.Hash.Length == 0 ? null : config.Hash,
        }, cancellationToken: cancellationToken);
        if (sync is not null)
        {
            // Current before ready: the first read of the log, then follow it in the background.
            await sync.CatchUpAsync(cancellationToken);
            sync.ChangeApplied += change => TesseraMetrics.ClusterChangesApplied.WithLabels(KindLabel(change.Kind)).Inc();
            sync.Failed += (ex, inARow) =>
            {
                TesseraMetrics.ClusterSyncFailures.Inc();
                // A database that is down fails every heartbeat: the 1st, 10th, 100th... in a row are logged.
                if (inARow is 1 or 10 or 100 or 1_000 or 10_000 or 100_000)
                {
                    Log.ClusterSyncFailed(logger, inARow, ex);
                }
            };
            _sync = Task.Run(() => sync.RunAsync(_stopSync.Token), CancellationToken.None);
        }

        _pruneTimer = time.CreateTimer(_ => _ = PruneAsync(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        readiness.MarkReady();
        Log.Ready(logger, config.Server.Issuer, audit.LastSeq);
    }

    private static string KindLabel(Core.Storage.ClusterChangeKind kind) => kind switch
    {
        Core.Storage.ClusterChangeKind.Revocation => "revocation",
        Core.Storage.ClusterChangeKind.Suspension => "suspension",
        Core.Storage.ClusterChangeKind.SigningKey => "signing_key",
        Core.Storage.ClusterChangeKind.Vault => "vault",
        Core.Storage.ClusterChangeKind.Approval => "approval",
        _ => "other",
    };

    private async Task PruneAsync()
    {
        try
        {
            await revocations.PruneAsync(CancellationToken.None);
            await replays.PruneAsync(time.GetUtcNow(), CancellationToken.None);
            await uses.PruneAsync(time.GetUtcNow(), CancellationToken.None);
            await vault.DestroyExpiredAsync(CancellationToken.None);
            await approvals.ExpireDueAsync(CancellationToken.None);
            if (store.Changes is { } log)
            {
                await log.PruneAsync(ChangeLogRetention, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            Log.PruneFailed(logger, ex);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopSync.CancelAsync();
        await _sync;
        if (_pruneTimer is not null)
        {
            await _pruneTimer.DisposeAsync();
        }

        // Drain: every queued audit event is committed before the process exits.
        await audit.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopSync.CancelAsync();
        await _sync;
        _stopSync.Dispose();
        if (_pruneTimer is not null)
        {
            await _pruneTimer.DisposeAsync();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Tessera ready: issuer {Issuer}, audit log at seq {Seq}")]
        public static partial void Ready(ILogger logger, string issuer, long seq);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Pruning expired revocations failed")]
        public static partial void PruneFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Secret {Version} fails its integrity check (tampered storage or a different master key); tools using it are refused")]
        public static partial void SecretBroken(ILogger logger, string version);

        [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Secret {Name} is used by a tool but is not in the vault; put it with 'tessera secret put {Name}'")]
        public static partial void SecretMissing(ILogger logger, string name);

        [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Configuration accepted with a warning ({Code}): {Warning}")]
        public static partial void ConfigWarning(ILogger logger, string code, string warning);

        [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "Secret {Name} was rolled back: the newest stored version is v{Stored}, the audit log records v{Recorded}; tools using it are refused until it is rotated")]
        public static partial void SecretRolledBack(ILogger logger, string name, int stored, int recorded);

        [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Following the other nodes' change log failed ({InARow} in a row); retrying (this node answers 503 once it is max_staleness behind)")]
        public static partial void ClusterSyncFailed(ILogger logger, int inARow, Exception exception);
    }
}
