using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Dpop;
using Tessera.Core.Identity;
using Tessera.Core.Protocol;
using Tessera.Core.Proxy;
using Tessera.Core.Revocation;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;
using Tessera.Core.Vault;

namespace Tessera.Core.Leases;

/// <summary>
/// The life of a lease, the same for every kind of credential (docs/leases.md):
/// <list type="number">
/// <item>Issue: the token is checked as the proxy checks it (one token, ours, live, DPoP-bound if
/// bound, addressed to the tool), its scopes of the tool give the grants, a use is spent if the token
/// is counted (an approval's), the lease is <b>recorded before its credential exists</b>, the provider
/// makes it, and <c>lease.issued</c> is durable before the agent is answered.</item>
/// <item>End: when the lease expires, or its token, mission, any agent of its chain or its principal
/// is revoked, or an agent leaves the registry, <see cref="EndDueAsync"/> ends it: the provider cuts
/// its sessions and deletes it, then <c>lease.revoked</c>. A failure is <c>lease.revoke_failed</c>
/// and is retried with backoff (1 s doubling to 5 min), counted, listed and shown in posture until it
/// succeeds or an operator forces it.</item>
/// <item>Restart: a lease left <see cref="LeaseStatus.Issuing"/> by a stopped process is ended at
/// start, so a crash between making the credential and recording it leaves nothing behind.</item>
/// </list>
/// On several nodes any node may end any lease; <see cref="ILeaseStore.ClaimAsync"/> makes one do it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The pass gate is a SemaphoreSlim whose wait handle is never asked for: it holds no unmanaged resource.")]
public sealed partial class LeaseService
{
    public const string Prefix = "/credentials/";

    /// <summary>How long a provider may take to make or end one credential.</summary>
    public static readonly TimeSpan ProviderTimeout = TimeSpan.FromSeconds(15);

    /// <summary>A lease still issuing after this long was left by a node that stopped (its issue times out long before).</summary>
    public static readonly TimeSpan StaleIssuing = TimeSpan.FromMinutes(2);

    /// <summary>How often leases are checked without being woken (an agent expiring, another node's leases).</summary>
    public static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between two attempts to end a lease.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan ClaimFor = ProviderTimeout * 2;
    private const int Parallelism = 8;

    private readonly AccessTokenValidator _validator;
    private readonly SecretVault _vault;
    private readonly ILeaseStore _store;
    private readonly ITokenUseStore _uses;
    private readonly AuditLog _audit;
    private readonly DpopProofValidator _dpop;
    private readonly RevocationIndex _revocations;
    private readonly Dictionary<ToolProtocol, ICredentialProvider> _providers;
    private readonly LiveConfig _live;
    private readonly TimeProvider _time;
    private readonly ILogger<LeaseService> _logger;
    private readonly DateTimeOffset _startedAt;

    // Leases this process is issuing right now: never swept as left behind.
    private readonly ConcurrentDictionary<string, byte> _issuing = new(StringComparer.Ordinal);

    // Leases this process is ending right now, and when that is done (an operator's revoke during a pass waits for it).
    private readonly ConcurrentDictionary<string, Task> _ending = new(StringComparer.Ordinal);

    // One pass at a time: a second one (a revocation's wake during a sweep) runs after it, and finds nothing left to end twice.
    private readonly SemaphoreSlim _pass = new(1, 1);
    private long _revokeFailures;
    private int _failing;

    public LeaseService(AccessTokenValidator validator, LiveConfig live, SecretVault vault, ILeaseStore store, ITokenUseStore uses, AuditLog audit,
        DpopProofValidator dpop, RevocationIndex revocations, IEnumerable<ICredentialProvider> providers,
        TimeProvider time, ILogger<LeaseService> logger)
    {
        _validator = validator;
        _vault = vault;
        _store = store;
        _uses = uses;
        _audit = audit;
        _dpop = dpop;
        _revocations = revocations;
        _providers = providers.ToDictionary(p => p.Protocol);
        _live = live;
        _time = time;
        _logger = logger;
        _startedAt = time.GetUtcNow();
    }

    /// <summary>How many attempts to end a lease have failed since start (a metric).</summary>
    public long RevokeFailures => Interlocked.Read(ref _revokeFailures);

    /// <summary>How many leases were still failing to end at the last sweep (a metric).</summary>
    public int Failing => Volatile.Read(ref _failing);

    private string Node => _live.Config.Cluster.NodeId;

    /// <summary>
    /// Decides a request for a lease on <paramref name="toolId"/> and, when it is allowed, issues it.
    /// Every refusal is on record (<c>lease.denied</c>) before it is returned; an
    /// <see cref="AuditWriteException"/> (a refusal that could not be recorded) fails the request.
    /// </summary>
    public async Task<LeaseVerdict> IssueAsync<TRequest>(TRequest request, string toolId)
        where TRequest : IProxyRequest
    {
        // A node that may have missed another node's revocation hands out nothing (fail closed).
        if (!_validator.IsCurrent)
        {
            return await RefuseAsync(request, 503, RefusalCodes.ClusterStale, "this node is not current with the other nodes of its installation", null, toolId);
        }

        // Reject requests without exactly one access token (RFC 6750 §3, RFC 9449 §7.1).
        var token = PresentedToken.Read(request, out var dpopScheme, out var tokenProblem);
        if (token is null)
        {
            return await RefuseAsync(request, tokenProblem is null ? 401 : 400, tokenProblem is null ? RefusalCodes.ProxyTokenMissing : RefusalCodes.ProxySeveralAuthorizationHeaders,
                tokenProblem ?? "an access token is required (Bearer, or DPoP with a proof)", null, toolId,
                tokenProblem is null ? ["Bearer realm=\"tessera\"", "DPoP realm=\"tessera\""] : null);
        }

        // Reject tokens that are malformed, forged, expired or revoked.
        var validation = await _validator.ValidateAsync(token, request.Aborted);
        if (!validation.IsActive)
        {
            var what = validation.Status switch
            {
                TokenStatus.Expired => (RefusalCodes.ProxyTokenExpired, "expired"),
                TokenStatus.Revoked => (RefusalCodes.ProxyTokenRevoked, "revoked"),
                TokenStatus.InvalidSignature => (RefusalCodes.ProxyTokenNotOurs, "not signed by this Tessera"),
                TokenStatus.LifetimeExceeded => (RefusalCodes.ProxyTokenLifetimeExceeded, "valid for longer than this server issues tokens"),
                _ => (RefusalCodes.ProxyTokenMalformed, "malformed"),
            };
            return await RefuseAsync(request, 401, what.Item1, $"the token is {what.Item2}", validation.Status == TokenStatus.InvalidSignature ? null : validation.Claims, toolId,
                [$"{(dpopScheme ? "DPoP" : "Bearer")} realm=\"tessera\", error=\"invalid_token\", error_description=\"the token is {what.Item2}\""]);
        }

        var claims = validation.Claims!;
        var tool = _live.Current.Tools.FindById(toolId);
        if (tool is null)
        {
            return await RefuseAsync(request, 404, RefusalCodes.LeaseToolUnknown, "no tool of that id is configured", claims, toolId);
        }

        // Reject tools whose credentials are not handed out: an HTTP or MCP tool is reached through the proxy, its secret never leaves Tessera.
        if (tool.Protocol != ToolProtocol.Postgres || !_providers.TryGetValue(tool.Protocol, out var provider))
        {
            return await RefuseAsync(request, 400, RefusalCodes.LeaseToolNotDatabase, $"tool '{tool.Id}' is not a database tool: it is reached through /proxy/{tool.Id}", claims, toolId);
        }

        var raw = request.RawTarget ?? "";
        var queryStart = raw.IndexOf('?', StringComparison.Ordinal);
        if (await PresentedToken.CheckBindingAsync(_dpop, request, raw, queryStart, token, dpopScheme, claims, tool) is { } binding)
        {
            return await RefuseAsync(request, 401, binding.Code, binding.Description, claims, toolId,
                [$"DPoP realm=\"tessera\", error=\"{binding.Error}\", error_description=\"{binding.Description.Replace("\"", "'", StringComparison.Ordinal)}\""]);
        }

        // Reject mission tokens and tokens for another tool.
        if (ProxyAuthorizer.CheckAudience(claims, tool, _live.Config.Server.Issuer) is { } audience)
        {
            return await RefuseAsync(request, audience.Status, audience.Code!, audience.Reason, claims, toolId);
        }

        // Reject a token an approval bound to one HTTP request or one MCP call: it was never approved for a login.
        if (claims.AuthorizationDetails is not null)
        {
            return await RefuseAsync(request, 403, RefusalCodes.LeaseExactRequestToken, "the token is bound to one exact request (authorization_details); a database lease is approved by scope", claims, toolId);
        }

        var scopes = claims.Scope.Intersect(tool.Scopes);
        if (scopes.IsEmpty)
        {
            return await RefuseAsync(request, 403, RefusalCodes.LeaseNoScope, $"the token carries no scope of tool '{tool.Id}'", claims, toolId);
        }

        // Fail closed: without its admin secret no role is made (and none could be ended).
        if (AdminSecret(tool, out var adminSecret) is { } secretProblem)
        {
            return await RefuseAsync(request, 424, secretProblem.Code, secretProblem.Reason, claims, toolId);
        }

        // Fail closed: while the audit log cannot commit, nothing is handed out that it could not record.
        if (!_audit.IsHealthy)
        {
            return await RefuseAsync(request, 503, RefusalCodes.LeaseAuditUnhealthy, "the audit log is not accepting events", claims, toolId);
        }

        // An approval's token is counted: each lease spends a use, in one conditional write shared by every node.
        if (claims.MaxUses is { } maxUses
            && await _uses.TryConsumeAsync(claims.Jti, maxUses, DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt), request.Aborted) is null)
        {
            return await RefuseAsync(request, 403, RefusalCodes.LeaseUsesSpent, $"the token's {maxUses} use(s) are spent", claims, toolId);
        }

        var now = _time.GetUtcNow();
        var tokenEnd = DateTimeOffset.FromUnixTimeSeconds(claims.ExpiresAt);
        var expiresAt = now + tool.Options.LeaseTtl < tokenEnd ? now + tool.Options.LeaseTtl : tokenEnd;
        var lease = Lease.Open(LeaseNames.NewId(), tool.Id, claims, [.. scopes], now, expiresAt, Node);
        _issuing[lease.Id] = 0;
        try
        {
            return await IssueRecordedAsync(request, provider, tool, lease, adminSecret!);
        }
        finally
        {
            _issuing.TryRemove(lease.Id, out _);
        }
    }

    private async Task<LeaseVerdict> IssueRecordedAsync<TRequest>(TRequest request, ICredentialProvider provider, Tool tool, Lease lease, string adminSecret)
        where TRequest : IProxyRequest
    {
        // The lease is on record before its credential exists: whatever happens next, it is ended or handed out, never forgotten.
        try
        {
            await _store.OpenAsync(lease, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.NotRecorded(_logger, lease.Id, ex);
            return await RefuseAsync(request, 503, RefusalCodes.LeaseNotRecorded, "the lease could not be recorded, so no credential was made", null, tool.Id, lease: lease);
        }

        var grants = lease.Scopes.SelectMany(s => tool.Options.Scopes[s[(tool.Id.Length + 1)..]].Grants).ToList();
        var credentialRequest = new CredentialRequest(lease.Id, tool, lease.Username, grants, lease.ExpiresAt, adminSecret);
        IssuedCredential credential;
        try
        {
            using var timeout = new CancellationTokenSource(ProviderTimeout, _time);
            credential = await provider.IssueAsync(credentialRequest, timeout.Token);
        }
        catch (Exception ex)
        {
            // Any other exception is a provider's bug: treated as a lost answer (the credential may exist), never let out to the agent.
            var failure = ex as CredentialProviderException;
            var (status, code) = failure?.Failure switch
            {
                CredentialFailure.AdminRejected => (424, RefusalCodes.LeaseAdminRejected),
                CredentialFailure.Refused => (424, RefusalCodes.LeaseGrantRefused),
                _ => (503, RefusalCodes.LeaseDatabaseUnavailable),
            };
            var why = failure?.Message ?? Unanswered(ex, lease);

            // A credential that may exist (the database's answer was lost) is ended by the sweep; one that cannot is closed now.
            var mayExist = failure is null || failure.MayExist;
            var now = _time.GetUtcNow();
            var step = mayExist
                ? new LeaseStep(lease.Id, LeaseStatus.Ending, now, 0, now, why, "its issue failed")
                : new LeaseStep(lease.Id, LeaseStatus.Ended, now, 0, null, why, "its issue failed");
            return await RefuseAsync(request, status, code, $"no credential was made for tool '{tool.Id}': {why}", null, tool.Id, lease: lease, step: step);
        }

        // Handed out only once lease.issued is durable; if it cannot be, the credential is ended at once.
        try
        {
            await _audit.AppendAsync(Record(AuditTypes.LeaseIssued, AuditOutcomes.Allowed, lease) with
            {
                RequestId = request.RequestId,
                Reason = $"expires {lease.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}",
            }, new LeaseStep(lease.Id, LeaseStatus.Active, _time.GetUtcNow()), CancellationToken.None);
        }
        catch (AuditWriteException ex)
        {
            Log.NotRecorded(_logger, lease.Id, ex);
            await EndAsync(lease, "its issue could not be recorded", request.RequestId, force: false, CancellationToken.None);
            return LeaseVerdict.Refused(new ProxyRefusal(503, RefusalCodes.LeaseNotRecorded, null, ProxyRefusal.TitleFor(503),
                "the lease could not be recorded in the audit log, so its credential was ended", "not recorded", tool.Id));
        }

        return LeaseVerdict.Issued(lease with { Status = LeaseStatus.Active }, credential);
    }

    /// <summary>
    /// Ends every lease that is due: expired, revoked through its token's lineage, agent or principal,
    /// its agent gone from the registry, left issuing by a stopped process, or due for another attempt.
    /// Returns when the next one falls due (at most <see cref="SweepEvery"/> from now).
    /// </summary>
    public async Task<DateTimeOffset> EndDueAsync(CancellationToken cancellationToken)
    {
        // One pass at a time in this process: this node claims its own claims again (ClaimAsync), so two
        // passes at once (a woken reaper and another caller) would both end a lease and record it twice.
        await _pass.WaitAsync(cancellationToken);
        try
        {
            return await EndDuePassAsync(cancellationToken);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task<DateTimeOffset> EndDuePassAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var next = now + SweepEvery;
        var due = new Dictionary<string, (Lease Lease, string Reason)>(StringComparer.Ordinal);
        var failing = 0;
        foreach (var lease in await _store.LoadLiveAsync(cancellationToken))
        {
            if (_issuing.ContainsKey(lease.Id))
            {
                continue;
            }

            switch (lease.Status)
            {
                case LeaseStatus.Issuing:
                    // Left by a process that stopped while making it: this node before its start, or any node long ago.
                    if ((lease.Node == Node && lease.CreatedAt < _startedAt) || now - lease.CreatedAt > StaleIssuing)
                    {
                        due[lease.Id] = (lease, "its issue never finished (Tessera stopped while making it)");
                    }
                    else
                    {
                        next = Min(next, lease.CreatedAt + StaleIssuing);
                    }

                    break;
                case LeaseStatus.Active:
                    if (WhyEnds(lease, now) is { } reason)
                    {
                        due[lease.Id] = (lease, reason);
                    }
                    else
                    {
                        next = Min(next, lease.ExpiresAt);
                    }

                    break;
                case LeaseStatus.Ending:
                    failing += lease.Attempts > 0 ? 1 : 0;
                    if (lease.NextAttemptAt is not { } at || at <= now)
                    {
                        due[lease.Id] = (lease, lease.EndReason ?? "it is ending");
                    }
                    else
                    {
                        next = Min(next, at);
                    }

                    break;
            }
        }

        Volatile.Write(ref _failing, failing);
        if (due.Count == 0)
        {
            return next;
        }

        // A lease this process is already ending (the reaper's pass, an operator's revoke) is waited for, never ended twice.
        var running = new List<Task>();
        foreach (var id in due.Keys.ToList())
        {
            if (_ending.TryGetValue(id, out var end))
            {
                running.Add(end);
                due.Remove(id);
            }
        }

        var claimed = due.Count == 0 ? [] : await _store.ClaimAsync([.. due.Keys], Node, now, now + ClaimFor, cancellationToken);
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (id, ct) =>
        {
            var (lease, reason) = due[id];
            try
            {
                await EndOnceAsync(lease, reason, null, force: false, ct);
            }
            catch (AuditWriteException ex)
            {
                // Its end could not be recorded: the lease stays as it was and the next sweep tries again.
                Log.NotRecorded(_logger, lease.Id, ex);
            }
        });
        await Task.WhenAll(running);
        return next;
    }

    /// <summary>
    /// Ends <paramref name="lease"/> unless this process is already ending it; then waits for that
    /// end instead and returns null (the caller reads the lease again if it needs the outcome).
    /// </summary>
    private async Task<LeaseEnd?> EndOnceAsync(Lease lease, string reason, string? requestId, bool force, CancellationToken cancellationToken)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_ending.TryAdd(lease.Id, mine.Task))
        {
            if (_ending.TryGetValue(lease.Id, out var theirs))
            {
                await theirs;
            }

            return null;
        }

        try
        {
            return await EndAsync(lease, reason, requestId, force, cancellationToken);
        }
        finally
        {
            _ending.TryRemove(lease.Id, out _);
            mine.SetResult();
        }
    }

    /// <summary>
    /// An operator ends lease <paramref name="id"/> now. With <paramref name="force"/>, the record is
    /// closed even if the credential cannot be deleted (the event says it may remain). Null when no
    /// such lease exists.
    /// </summary>
    public async Task<LeaseEnd?> RevokeAsync(string id, string revokedBy, bool force, string? requestId, CancellationToken cancellationToken)
    {
        if (!LeaseNames.IsLeaseId(id) || await _store.FindAsync(id, cancellationToken) is not { } lease)
        {
            return null;
        }

        // Ended while this process was already ending it (the reaper): the operator sees how that ended, then may force.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (lease.Status == LeaseStatus.Ended)
            {
                return new LeaseEnd(lease, null);
            }

            if (await EndOnceAsync(lease, $"revoked by {revokedBy}", requestId, force, cancellationToken) is { } end)
            {
                return end;
            }

            lease = await _store.FindAsync(id, cancellationToken) ?? lease;
        }

        return new LeaseEnd(lease, lease.LastError);
    }

    /// <summary>
    /// Ends every live lease that <paramref name="after"/>, the configuration a reload just swapped in,
    /// would not give as it stands (<see cref="LeaseReview"/>), as an operator's revoke does, and returns
    /// those that could not be ended (they stay due, retried with backoff) with the reason. The caller
    /// runs this pinned to <paramref name="before"/>: it still names each tool's database and admin
    /// secret, which a removed or re-pointed tool no longer has in <paramref name="after"/>.
    /// </summary>
    public async Task<IReadOnlyList<(LeaseEnd End, string Reason)>> EndWithdrawnAsync(ConfigSnapshot before, ConfigSnapshot after, string requestedBy, string? requestId,
        CancellationToken cancellationToken)
    {
        var failed = new List<(LeaseEnd, string)>();
        foreach (var lease in await _store.LoadLiveAsync(cancellationToken))
        {
            if (LeaseReview.Withdrawn(lease, before, after) is { } reason
                && await RevokeAsync(lease.Id, $"configuration reload ({requestedBy}): {reason}", force: false, requestId, cancellationToken) is { Ended: false } end)
            {
                failed.Add((end, reason));
            }
        }

        return failed;
    }

    /// <summary>The leases for <c>tessera lease list</c>: live ones, or the most recent of all.</summary>
    public Task<IReadOnlyList<Lease>> ListAsync(bool includeEnded, int limit, CancellationToken cancellationToken) =>
        _store.ListAsync(includeEnded, limit, cancellationToken);

    /// <summary>Forgets leases that ended more than <paramref name="retention"/> ago (the audit log keeps their story).</summary>
    public Task<int> PruneAsync(TimeSpan retention, CancellationToken cancellationToken) =>
        _store.PruneAsync(_time.GetUtcNow() - retention, cancellationToken);

    /// <summary>Why an active lease must end now, or null while it may live.</summary>
    private string? WhyEnds(Lease lease, DateTimeOffset now)
    {
        if (now >= lease.ExpiresAt)
        {
            return "it expired";
        }

        if (_revocations.IsIdRevoked(lease.Jti))
        {
            return "its token was revoked";
        }

        if (lease.Mission is { } mission && _revocations.IsIdRevoked(mission))
        {
            return $"mission {mission} was revoked";
        }

        if (_revocations.IsRevoked(lease.Jti, lease.Lineage, lease.Principal, lease.Agents, lease.TokenIssuedAt))
        {
            return "its token's lineage, an agent of its chain or its principal was revoked";
        }

        foreach (var id in lease.Agents)
        {
            if (_live.Current.Agents.Find(id) is not { } agent || agent.IsExpiredAt(now))
            {
                return $"agent '{id}' is no longer registered";
            }
        }

        return null;
    }

    /// <summary>
    /// Ends one lease through its provider and records the outcome with its step: <c>lease.revoked</c>,
    /// or <c>lease.revoke_failed</c> with the next attempt's time (or, forced, <c>lease.revoked</c> saying the credential may remain).
    /// </summary>
    private async Task<LeaseEnd> EndAsync(Lease lease, string reason, string? requestId, bool force, CancellationToken cancellationToken)
    {
        var error = await RevokeCredentialAsync(lease, cancellationToken);
        var now = _time.GetUtcNow();
        if (error is null || force)
        {
            var step = new LeaseStep(lease.Id, LeaseStatus.Ended, now, lease.Attempts, null, error, reason);
            await _audit.AppendAsync(Record(AuditTypes.LeaseRevoked, AuditOutcomes.Allowed, lease) with
            {
                RequestId = requestId,
                Reason = error is null
                    ? $"{reason}: sessions ended and role dropped"
                    : $"{reason}; forced closed although ending it failed, so the role may remain: {error}",
                ReasonCode = error is null ? null : RefusalCodes.LeaseForced,
            }, step, cancellationToken);
            return new LeaseEnd(lease with { Status = LeaseStatus.Ended, EndedAt = now, EndReason = reason, LastError = error }, error);
        }

        var attempts = lease.Attempts + 1;
        var nextAt = now + Backoff(attempts);
        Interlocked.Increment(ref _revokeFailures);
        Log.RevokeFailed(_logger, lease.Id, lease.Tool, attempts, error);
        await _audit.AppendAsync(Record(AuditTypes.LeaseRevokeFailed, AuditOutcomes.Error, lease) with
        {
            RequestId = requestId,
            Reason = $"{reason}; attempt {attempts} to end it failed: {error}; next attempt at {nextAt:yyyy-MM-ddTHH:mm:ssZ}",
            ReasonCode = RefusalCodes.LeaseRevokeFailed,
        }, new LeaseStep(lease.Id, LeaseStatus.Ending, now, attempts, nextAt, error, reason), cancellationToken);
        return new LeaseEnd(lease with { Status = LeaseStatus.Ending, Attempts = attempts, NextAttemptAt = nextAt, LastError = error, EndReason = reason }, error);
    }

    /// <summary>Asks the provider to end the lease's credential; returns why it could not, or null when it is gone.</summary>
    private async Task<string?> RevokeCredentialAsync(Lease lease, CancellationToken cancellationToken)
    {
        if (_live.Current.Tools.FindById(lease.Tool) is not { } tool || !_providers.TryGetValue(tool.Protocol, out var provider))
        {
            return $"tool '{lease.Tool}' is no longer a configured database tool, so Tessera cannot reach its database";
        }

        if (AdminSecret(tool, out var adminSecret) is { } problem)
        {
            return problem.Reason;
        }

        try
        {
            // The timeout runs on the service's clock, as the issue's does (CancelAfter would use the wall clock).
            using var timeout = new CancellationTokenSource(ProviderTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            await provider.RevokeAsync(new CredentialRequest(lease.Id, tool, lease.Username, [], lease.ExpiresAt, adminSecret!), linked.Token);
            return null;
        }
        catch (CredentialProviderException ex)
        {
            return ex.Message;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A timeout, or a provider's bug: one lease's failure never stops the others from ending.
            return Unanswered(ex, lease);
        }
    }

    /// <summary>Why a provider gave no answer: its timeout, or an unexpected exception, named by its type only (its message may hold a connection string).</summary>
    private string Unanswered(Exception ex, Lease lease)
    {
        if (ex is OperationCanceledException)
        {
            return $"the database did not answer within {ProviderTimeout.TotalSeconds:0} s";
        }

        Log.ProviderFailed(_logger, lease.Id, lease.Tool, ex.GetType().FullName);
        return $"the credential provider failed unexpectedly ({ex.GetType().Name})";
    }

    /// <summary>1 s, doubling with each failed attempt, at most <see cref="MaxBackoff"/>.</summary>
    internal static TimeSpan Backoff(int attempts) =>
        attempts >= 9 ? MaxBackoff : TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, attempts - 1)));

    private (string Code, string Reason)? AdminSecret(Tool tool, out string? value)
    {
        var lookup = _vault.TryFormatCredential(tool.Options.AdminSecret!, null, out value);
        return lookup switch
        {
            CredentialLookup.Found => null,
            CredentialLookup.Missing => (RefusalCodes.LeaseAdminSecretMissing, $"the admin secret of tool '{tool.Id}' is not in the vault"),
            _ => (RefusalCodes.LeaseAdminSecretTampered, $"the admin secret of tool '{tool.Id}' failed its integrity check"),
        };
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>The fields every lease event carries; never the password.</summary>
    private static AuditRecord Record(string type, string outcome, Lease lease) => new()
    {
        Type = type,
        Outcome = outcome,
        Principal = lease.Principal,
        Agent = lease.Agent,
        ActorChain = lease.ActorChain.Count > 0 ? lease.ActorChain : null,
        Mission = lease.Mission,
        Purpose = lease.Purpose,
        Tool = lease.Tool,
        Scopes = lease.Scopes,
        Jti = lease.Jti,
        Lease = lease.Id,
        Role = lease.Username,
    };

    /// <summary>Records a refusal durably (<c>lease.denied</c>, with its code, and the lease's step if it was recorded) and returns it.</summary>
    private async Task<LeaseVerdict> RefuseAsync<TRequest>(TRequest request, int status, string code, string reason, AccessTokenClaims? claims, string toolId,
        string[]? challenges = null, Lease? lease = null, LeaseStep? step = null)
        where TRequest : IProxyRequest
    {
        var record = lease is not null
            ? Record(AuditTypes.LeaseDenied, status >= 500 || status == 424 ? AuditOutcomes.Error : AuditOutcomes.Denied, lease)
            : new AuditRecord
            {
                Type = AuditTypes.LeaseDenied,
                Outcome = status >= 500 || status == 424 ? AuditOutcomes.Error : AuditOutcomes.Denied,
                Principal = claims?.Principal,
                Agent = claims?.ClientId,
                ActorChain = claims is { ActorChain.Count: > 0 } ? claims.ActorChain : null,
                Mission = claims?.Mission,
                Purpose = claims?.Purpose,
                Tool = toolId.Length <= 64 ? toolId : toolId[..64],
                Jti = claims?.Jti,
            };
        await _audit.AppendAsync(record with
        {
            Method = "POST",
            Status = status,
            Reason = reason,
            ReasonCode = code,
            RequestId = request.RequestId,
        }, step, CancellationToken.None);
        return LeaseVerdict.Refused(new ProxyRefusal(status, code, challenges, TitleFor(status), reason, reason, toolId));
    }

    private static string TitleFor(int status) => status == 424 ? "The database refused Tessera" : ProxyRefusal.TitleFor(status);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Lease {LeaseId} could not be recorded")]
        public static partial void NotRecorded(ILogger logger, string leaseId, Exception exception);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Ending lease {LeaseId} of tool {Tool} failed (attempt {Attempts}): {Error}")]
        public static partial void RevokeFailed(ILogger logger, string leaseId, string tool, int attempts, string error);

        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "The credential provider of tool {Tool} threw {ExceptionType} for lease {LeaseId}, not a CredentialProviderException")]
        public static partial void ProviderFailed(ILogger logger, string leaseId, string tool, string? exceptionType);
    }
}
