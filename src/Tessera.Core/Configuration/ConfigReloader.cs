using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Protocol;
using Tessera.Core.Revocation;

namespace Tessera.Core.Configuration;

/// <summary>
/// Reloads <c>tessera.yaml</c> into a running node (docs/operations.md, "Reloading the
/// configuration"): reads and validates the whole file exactly as at start, refuses it when it is
/// invalid or changes what takes a restart, records the change, and swaps the new configuration in
/// whole. Requests already running finish under the configuration they started with
/// (<see cref="LiveConfig.Pin"/>). One reload at a time.
/// </summary>
/// <param name="live">The running configuration, swapped by a reload.</param>
/// <param name="audit">Records every reload, swapped or refused, before it counts.</param>
/// <param name="revocations">Revokes the agents a reload removes.</param>
/// <param name="vault">Says which secrets a new configuration needs that the vault lacks.</param>
/// <param name="time">The server's clock (agent expiries are checked against it, as at start).</param>
/// <param name="http">Fetches the keys of a new identity provider.</param>
/// <param name="logger">Where each reload is logged.</param>
/// <param name="leases">Ends the leases of a database tool the new configuration removes; null where no leases are kept (tests).</param>
public sealed partial class ConfigReloader(LiveConfig live, AuditLog audit, RevocationService revocations, Vault.SecretVault vault,
    TimeProvider time, HttpClient http, ILogger<ConfigReloader> logger, Leases.LeaseService? leases = null) : IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Raised after each swap, with the snapshot now running (the node's status row).</summary>
    public event Action<ConfigSnapshot>? Reloaded;

    /// <summary>Raised after every reload asked, swapped or refused, with its outcome (metrics).</summary>
    public event Action<ConfigReload>? Completed;

    /// <param name="requestedBy">Who asked: an admin's name, or <c>SIGHUP</c>.</param>
    /// <param name="requestId">The request's id, for the audit log.</param>
    /// <param name="cancellationToken">Cancels waiting for another reload; once a reload is on record it completes.</param>
    public async Task<ConfigReload> ReloadAsync(string requestedBy, string? requestId, CancellationToken cancellationToken)
    {
        await _one.WaitAsync(cancellationToken);
        try
        {
            var outcome = await ReloadOnceAsync(requestedBy, requestId);
            Completed?.Invoke(outcome);
            return outcome;
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<ConfigReload> ReloadOnceAsync(string requestedBy, string? requestId)
    {
        var running = live.Latest;
        var path = running.Config.SourcePath;
        if (path is null)
        {
            return await RefuseAsync(running, RefusalCodes.ConfigNoFile, "the running configuration was not loaded from a file", requestedBy, requestId);
        }

        TesseraConfig next;
        ConfigSnapshot snapshot;
        try
        {
            next = ConfigLoader.LoadFile(path, time);
            // Identity providers' key files and agents' JWKS are read here: a broken one refuses the reload, as it stops a start.
            snapshot = ConfigSnapshot.Build(next, time, http, running);
        }
        catch (ConfigException ex)
        {
            return await RefuseAsync(running, RefusalCodes.ConfigInvalid, ex.Message, requestedBy, requestId);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or JsonException)
        {
            return await RefuseAsync(running, RefusalCodes.ConfigInvalid, $"{Path.GetFileName(path)}: a file it names cannot be read: {ex.GetType().Name}", requestedBy, requestId);
        }

        var change = ConfigChange.Between(running.Config, next);
        if (change.RestartRequired.Count > 0)
        {
            return await RefuseAsync(running, RefusalCodes.ConfigRestartRequired,
                $"{string.Join(", ", change.RestartRequired)} changed: these take a restart (tessera serve) to apply; change them separately from what a reload applies",
                requestedBy, requestId, next.Hash);
        }

        // A removed agent's tokens already fail here (the registry no longer has it); a durable
        // revocation also ends them on nodes still running the old file, and keeps them dead if an
        // agent of the same id is registered again. Recorded before the swap: if it fails, nothing
        // else changes (the revocations done only end tokens, never grant anything).
        foreach (var agent in change.RemovedAgents)
        {
            await revocations.RevokeAsync(RevocationKind.Agent, agent, $"configuration reload ({requestedBy}): agent removed", requestId, CancellationToken.None);
        }

        // On record before the new configuration serves anything: an audit failure leaves the old one running.
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ConfigReloaded,
            Outcome = AuditOutcomes.Allowed,
            Principal = requestedBy,
            ConfigHash = next.Hash,
            Changes = change.Changes,
            Reason = change.Changes.Count == 0
                ? $"reloaded by {requestedBy}; unchanged ({Short(next.Hash)})"
                : $"reloaded by {requestedBy}; {Short(running.Hash)} → {Short(next.Hash)}, {change.Changes.Count} change(s)",
            RequestId = requestId,
        }, cancellationToken: CancellationToken.None);
        // A live database lease the new configuration would not give as it stands (its tool removed or
        // re-pointed, a scope's grants changed or no longer allowed) ends with the reload: its role keeps
        // what it was granted until dropped. Ended after the swap, so no new lease is issued under the old
        // configuration meanwhile, by this flow pinned to the old configuration, which still names each
        // tool's database and admin secret (LeaseService reads them through LiveConfig).
        live.Pin();
        live.Swap(snapshot);
        Reloaded?.Invoke(snapshot);

        var warnings = next.Warnings.Select(w => w.ToString())
            .Concat(vault.MissingSecrets().Select(s => $"secret {s} is used but is not in the vault; put it with 'tessera secret put {s}'"))
            .ToList();
        if (leases is not null)
        {
            foreach (var (failed, reason) in await leases.EndWithdrawnAsync(running, snapshot, requestedBy, requestId, CancellationToken.None))
            {
                warnings.Add($"lease {failed.Lease.Id} of tool {failed.Lease.Tool} could not be ended ({reason}; {failed.Error}): its role {failed.Lease.Username} "
                    + $"can log in until {Audit.AuditEvent.FormatTime(failed.Lease.ExpiresAt)}; drop it in the database, then 'tessera lease revoke {failed.Lease.Id} --force'");
            }
        }

        Log.Reloaded(logger, next.Hash, requestedBy, change.Changes.Count);
        foreach (var warning in warnings)
        {
            Log.Warning(logger, warning);
        }

        return new ConfigReload(next.Hash, running.Hash, change.Changes, warnings, null, null);
    }

    private async Task<ConfigReload> RefuseAsync(ConfigSnapshot running, string code, string problem, string requestedBy, string? requestId, string? refusedHash = null)
    {
        await audit.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.ConfigRefused,
            Outcome = AuditOutcomes.Denied,
            Principal = requestedBy,
            ConfigHash = refusedHash,
            Reason = problem,
            ReasonCode = code,
            RequestId = requestId,
        }, cancellationToken: CancellationToken.None);
        Log.Refused(logger, code, problem, requestedBy);
        return new ConfigReload(running.Hash, running.Hash, [], [], code, problem);
    }

    public void Dispose() => _one.Dispose();

    /// <summary>The first 12 hex digits: enough to tell configurations apart in a line of text.</summary>
    public static string Short(string hash) => hash.Length > 19 ? hash[..19] : hash;

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Configuration reloaded: {Hash}, asked by {By}, {Count} change(s)")]
        public static partial void Reloaded(ILogger logger, string hash, string by, int count);

        [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Configuration reload refused ({Code}), asked by {By}; the running configuration is unchanged: {Problem}")]
        public static partial void Refused(ILogger logger, string code, string problem, string by);

        [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Reloaded configuration: {Warning}")]
        public static partial void Warning(ILogger logger, string warning);
    }
}
