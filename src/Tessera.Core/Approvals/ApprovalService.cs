using System.Collections.Concurrent;
using System.Security.Cryptography;
using Tessera.Core.Audit;
using Tessera.Core.Mcp;
using Tessera.Core.Tools;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Missions;
using Tessera.Core.Protocol;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Core.Approvals;

/// <summary>
/// Human approval of risky requests (docs/approvals.md): creates pending approvals, answers CIBA polls,
/// and records decisions. Each approval has a lock, and every step (decide, expire, redeem) is a
/// conditional transition taken under it and on record before it counts, so two approvers racing
/// produce one decision and an approval yields at most one token.
/// </summary>
public sealed class ApprovalService(IApprovalStore store, AuditLog audit, SigningKeyService keys, Revocation.RevocationIndex revocations, IApprovalNotifier notifier,
    LiveConfig live, TimeProvider time) : IApprovalGate
{
    /// <summary>CIBA polling interval: polls closer together than this get <c>slow_down</c>.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>How long a request waits for a person before it lapses.</summary>
    public static readonly TimeSpan RequestLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long the agent has to collect its token once approved, even at the end of the request's life.</summary>
    public static readonly TimeSpan RedeemWindow = TimeSpan.FromMinutes(1);

    /// <summary>Decided approvals stay listed (and in memory) this long.</summary>
    public static readonly TimeSpan History = TimeSpan.FromDays(1);

    /// <summary>Ended approvals' rows are deleted this long after they expired (the audit log keeps their history).</summary>
    public static readonly TimeSpan RowRetention = TimeSpan.FromDays(7);

    /// <summary>An agent cannot flood approvers: at most this many requests of one agent wait at once.</summary>
    internal const int MaxPendingPerAgent = 16;

    /// <summary>
    /// The shortest life an approval may have: a request whose subject token ends sooner could
    /// hardly be decided in time, and one whose token is already past <c>exp</c> (accepted within the
    /// identity provider's clock skew) would be an approval that expired at once.
    /// </summary>
    public static readonly TimeSpan MinimumLifetime = TimeSpan.FromMinutes(1);

    private const int MaxReasonLength = 512;

    private readonly AuditLog _audit = audit;

    // An approved token leaves the broker the way every token does.
    private readonly TokenIssuer _issuer = new(keys, audit);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    // One lock per agent around counting its waiting requests and adding one, so racing requests
    // cannot pass MaxPendingPerAgent. Agents are configured, so this stays small.
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _asking = new(StringComparer.Ordinal);

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var approval in await store.LoadAsync(now - History, cancellationToken))
        {
            _entries[approval.Id] = new Entry(approval);
            if (approval.Status == ApprovalStatus.Pending && now < approval.ExpiresAt)
            {
                // Announce again what still waits: a notification cut short by the restart is not
                // lost. Receivers see the same delivery id and can drop a repeat.
                notifier.Requested(approval, () => IsWaiting(approval.Id));
            }
        }
    }

    /// <summary>
    /// Re-reads approval <paramref name="id"/> after another node requested or stepped it, so this node
    /// answers polls and decisions from the stored status. Read under the approval's gate: a local step
    /// (which holds the gate across its commit) is never overwritten by an older read. The requesting
    /// node announced it to approvers; this one does not announce it again.
    /// </summary>
    public async Task RefreshAsync(string id, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            var found = await FindStoredAsync(id, cancellationToken);
            if (found is not null)
            {
                _entries.TryAdd(id, new Entry(found));
            }

            return;
        }

        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            if (await FindStoredAsync(id, cancellationToken) is { } stored)
            {
                entry.Current = stored;
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    // Approvals change at human pace: reading the recent ones and picking one is cheap enough.
    private async Task<ApprovalRequest?> FindStoredAsync(string id, CancellationToken cancellationToken) =>
        (await store.LoadAsync(time.GetUtcNow() - History, cancellationToken)).FirstOrDefault(a => string.Equals(a.Id, id, StringComparison.Ordinal));

    /// <summary>
    /// Approvals newest first, optionally only those with <paramref name="status"/>. An admin sees
    /// all; an approver only those of their own groups, which are all they may decide.
    /// </summary>
    public IReadOnlyList<ApprovalRequest> List(string? status, Approver who, bool isAdmin)
    {
        var now = time.GetUtcNow();
        return [.. _entries.Values.Select(e => Displayed(e.Current, now))
            .Where(a => (status is null || a.Status == status) && (isAdmin || IsMember(who, a.Group)))
            .OrderByDescending(a => a.CreatedAt)];
    }

    /// <summary>Whether <paramref name="who"/> belongs to any approver group (may list approvals).</summary>
    public bool IsApprover(Approver who) =>
        who.Idp is not null && live.Config.ApproverGroups.Any(g => g.Members.Any(m => m.Idp == who.Idp && m.Sub == who.Sub));

    // The token endpoint reaches approvals only through the gate (internal members are implemented explicitly).
    Task<(OAuthError Error, bool Created)> IApprovalGate.RequestAsync(ApprovalDraft draft, TokenRequest request, CancellationToken cancellationToken) =>
        RequestAsync(draft, request, cancellationToken);

    Task<OAuthResult<TokenResponse>> IApprovalGate.PollAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken) =>
        PollAsync(request, agent, cancellationToken);

    /// <summary>
    /// Records a pending approval for <paramref name="draft"/> and answers <c>approval_required</c>.
    /// When the request cannot become an approval, returns the refusal with <c>Created</c> false (the caller audits it).
    /// </summary>
    internal async Task<(OAuthError Error, bool Created)> RequestAsync(ApprovalDraft draft, TokenRequest request, CancellationToken cancellationToken)
    {
        // Reject gated scopes of different groups together: one request, one group of people decides.
        var policies = draft.Gated.Select(s => draft.Tool.Options.Scopes[s[(draft.Tool.Id.Length + 1)..]].Approval!).ToList();
        var group = policies[0].Group;
        if (policies.Any(p => p.Group != group))
        {
            return (OAuthError.InvalidScope("The requested scopes need approval by different groups; request them separately."), false);
        }

        var reason = request.Get("reason");
        if (reason is not null && !DisplayText.IsDisplayable(reason, MaxReasonLength))
        {
            return (OAuthError.InvalidRequest($"'reason' must be at most {MaxReasonLength} characters of printable text (no control or formatting characters)."), false);
        }

        string? details = null, arguments = null;
        if (request.Get("authorization_details") is { } detailsText)
        {
            // An MCP tool binds one tool call (tessera_mcp_call), any other tool one HTTP request (tessera_request).
            // Reject an exact request for a database tool: its approval covers a scope (a login with those grants), not one request.
            if (draft.Tool.Protocol == ToolProtocol.Postgres)
            {
                return (new OAuthError(OAuthErrorCodes.InvalidAuthorizationDetails,
                    $"The authorization_details are not acceptable: tool '{draft.Tool.Id}' is a database; its approvals cover scopes, not single requests."), false);
            }

            string? problem;
            details = draft.Tool.Protocol == ToolProtocol.Mcp
                ? McpCallDetail.Parse(detailsText, draft.Tool, draft.Scopes, out arguments, out problem)?.ToJson()
                : ExactRequestDetail.Parse(detailsText, draft.Tool, draft.Scopes, out problem)?.ToJson();
            if (details is null)
            {
                return (new OAuthError(OAuthErrorCodes.InvalidAuthorizationDetails, $"The authorization_details are not acceptable: {problem}."), false);
            }
        }

        var asking = _asking.GetOrAdd(draft.ClientId, _ => new SemaphoreSlim(1, 1));
        await asking.WaitAsync(cancellationToken);
        try
        {
            return await RecordRequestAsync(draft, request, policies, group, reason, details, arguments, cancellationToken);
        }
        finally
        {
            asking.Release();
        }
    }

    /// <summary>The second half of <see cref="RequestAsync"/>, under the agent's lock.</summary>
    private async Task<(OAuthError Error, bool Created)> RecordRequestAsync(ApprovalDraft draft, TokenRequest request, List<ApprovalPolicyOptions> policies, string group,
        string? reason, string? details, string? arguments, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();

        // Reject requests whose approval would end (nearly) at once: the subject token it derives from ends first.
        if (draft.NotAfter is { } end && end - now < MinimumLifetime)
        {
            return (OAuthError.InvalidRequest(
                $"The subject_token is not acceptable: it expires in less than {(int)MinimumLifetime.TotalSeconds} seconds, too soon for a person to approve the request."), false);
        }

        // Reject past the cap, counting every approval still pending, including one past its expiry
        // that the sweep has not moved to expired yet: it holds a place until it is on record as ended.
        if (_entries.Values.Count(e => e.Current.ClientId == draft.ClientId && e.Current.Status == ApprovalStatus.Pending) >= MaxPendingPerAgent)
        {
            return (OAuthError.InvalidRequest($"Agent '{draft.ClientId}' already has {MaxPendingPerAgent} requests waiting for approval."), false);
        }

        var ttl = TimeSpan.FromTicks(policies.Min(p => p.Ttl.Ticks));
        var expires = now + RequestLifetime;
        if (draft.NotAfter is { } notAfter && notAfter < expires)
        {
            // Nobody needs to approve what could no longer be issued.
            expires = notAfter;
        }

        var approval = new ApprovalRequest
        {
            Id = System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)),
            Status = ApprovalStatus.Pending,
            ClientId = draft.ClientId,
            Principal = draft.Principal,
            Idp = draft.Idp,
            ActorChain = draft.ActorChain,
            Tool = draft.Tool.Id,
            Audience = draft.Tool.Audience,
            Scopes = [.. draft.Scopes],
            GatedScopes = [.. draft.Gated],
            Mission = draft.Mission,
            Purpose = draft.Purpose,
            StartsMission = draft.StartsMission,
            Lineage = draft.Lineage,
            Reason = reason,
            AuthorizationDetails = details,
            Arguments = arguments,
            Group = group,
            CreatedAt = now,
            ExpiresAt = expires,
            Interval = (int)Interval.TotalSeconds,
            Ttl = ttl,
            MaxUses = policies.Min(p => p.MaxUses),
            TokenLifetime = Tokens.TokenLifetime.Approved(draft.TokenLifetime, ttl),
            NotAfter = draft.NotAfter,
            Jkt = draft.Jkt,
        };

        try
        {
            await _audit.AppendAsync(approval.ToAuditRecord(AuditTypes.ApprovalRequested, AuditOutcomes.Allowed,
                $"approval {approval.Id} for group {group}" + (reason is null ? "" : $": {DisplayText.Clip(reason)}"), request.RequestId),
                [.. request.PendingChanges, new ApprovalRequested(approval)], cancellationToken);
        }
        catch (AuditWriteException)
        {
            return (OAuthError.ServerError, true);
        }

        _entries[approval.Id] = new Entry(approval) { LastPoll = now };

        // Tell the group; delivery runs in the background and never delays or fails the request.
        notifier.Requested(approval, () => IsWaiting(approval.Id));
        var expiresIn = (long)Math.Ceiling((expires - now).TotalSeconds);
        return (new OAuthError(OAuthErrorCodes.ApprovalRequired,
            $"Scope '{draft.Gated.First()}' needs the approval of a member of '{group}'; poll with grant_type={GrantTypes.Ciba} and this auth_req_id.")
        {
            Members =
            [
                new("auth_req_id", approval.Id),
                new("expires_in", expiresIn),
                new("interval", (long)approval.Interval),
            ],
        }, true);
    }

    /// <summary>
    /// A CIBA poll by <paramref name="agent"/>. Pending answers (<c>authorization_pending</c>,
    /// <c>slow_down</c>) are not refusals; the caller audits the others.
    /// </summary>
    internal async Task<OAuthResult<TokenResponse>> PollAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        // Reject polls without the id of what they poll (CIBA Core §10.1).
        var id = request.Get("auth_req_id");
        if (string.IsNullOrEmpty(id))
        {
            return OAuthError.InvalidRequest("The CIBA grant needs 'auth_req_id'.");
        }

        // Reject unknown ids and ids of another client alike, so neither can be probed.
        if (!_entries.TryGetValue(id, out var entry) || entry.Current.ClientId != agent.Id)
        {
            return OAuthError.InvalidGrant("The auth_req_id is unknown or was issued to another client.");
        }

        // Reject polls bound to another key than the request's (or to one when the request had none).
        if (entry.Current.Jkt != request.DpopJkt)
        {
            return OAuthError.InvalidGrant(entry.Current.Jkt is null
                ? "This approval was requested without DPoP; poll without a DPoP proof."
                : "Poll with a DPoP proof of the key that made the request.");
        }

        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            var approval = entry.Current;
            if (approval.Status is ApprovalStatus.Pending or ApprovalStatus.Approved && now >= approval.ExpiresAt)
            {
                approval = await ExpireAsync(entry, request.RequestId, cancellationToken);
            }

            switch (approval.Status)
            {
                case ApprovalStatus.Pending:
                    // Reject polls faster than the interval; each one lengthens it (CIBA Core §11).
                    if (now - entry.LastPoll < TimeSpan.FromSeconds(entry.Interval))
                    {
                        entry.LastPoll = now;
                        entry.Interval += 5;
                        return new OAuthError(OAuthErrorCodes.SlowDown, $"Poll at most every {entry.Interval} seconds.")
                        {
                            Members = [new("interval", (long)entry.Interval)],
                        };
                    }

                    entry.LastPoll = now;
                    return new OAuthError(OAuthErrorCodes.AuthorizationPending, $"Waiting for a member of '{approval.Group}' to decide.");
                case ApprovalStatus.Denied:
                    return new OAuthError(OAuthErrorCodes.AccessDenied, $"The request was denied by {approval.DecidedBy}.");
                case ApprovalStatus.Expired:
                    return new OAuthError(OAuthErrorCodes.ExpiredToken, "The approval request expired before it was approved and redeemed.");
                case ApprovalStatus.Revoked:
                    return new OAuthError(OAuthErrorCodes.AccessDenied, $"The request was revoked by {approval.RevokedBy}.");
                case ApprovalStatus.Redeemed:
                    return OAuthError.InvalidGrant("The token of this approval was already issued; an approval yields one token.");
                default:
                    return await RedeemAsync(entry, approval, now, request, cancellationToken);
            }
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task<OAuthResult<TokenResponse>> RedeemAsync(Entry entry, ApprovalRequest approval, DateTimeOffset now, TokenRequest request, CancellationToken cancellationToken)
    {
        var expires = Tokens.TokenLifetime.ExpiresAt(now, approval.TokenLifetime, approval.NotAfter);
        if (expires.ToUnixTimeSeconds() <= now.ToUnixTimeSeconds())
        {
            return new OAuthError(OAuthErrorCodes.ExpiredToken, "The token this approval was for can no longer be issued: its subject token has expired.");
        }

        // Reject redemption when what the request was derived from was revoked after it asked: the
        // token is treated as issued when it was requested, so a revocation since then covers it.
        var agents = approval.ActorChain.Count == 0 ? [approval.ClientId] : (IReadOnlyList<string>)[approval.ClientId, .. approval.ActorChain];
        if (revocations.IsRevoked(approval.Id, approval.Lineage, approval.Principal, agents, approval.CreatedAt.ToUnixTimeSeconds()))
        {
            return OAuthError.InvalidGrant("The mission, principal or agent of this request was revoked after it asked; no token is issued.");
        }

        var claims = new AccessTokenClaims
        {
            Issuer = live.Config.Server.Issuer,
            Subject = approval.Principal ?? approval.ClientId,
            Audience = approval.Audience,
            ClientId = approval.ClientId,
            Scope = ScopeSet.Of(approval.Scopes),
            Jti = TokenService.NewId(),
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = expires.ToUnixTimeSeconds(),
            ActorChain = approval.ActorChain,
            Mission = approval.Mission,
            Purpose = approval.Purpose,
            Idp = approval.Idp,
            Lineage = approval.Lineage,
            MaxUses = approval.MaxUses,
            AuthorizationDetails = approval.AuthorizationDetails,
            Jkt = approval.Jkt,
        };
        var redeemed = approval with { Status = ApprovalStatus.Redeemed, RedeemedJti = claims.Jti };
        List<StateChange> changes = [.. request.PendingChanges, new ApprovalRedeemed(redeemed)];
        if (approval.StartsMission)
        {
            changes.Add(new MissionStarted(new MissionRecord(approval.Mission!, approval.Principal!, approval.Idp!, approval.ActorChain, approval.Purpose, now, expires)));
        }

        var issued = await _issuer.IssueAsync(claims, approval.ToAuditRecord(AuditTypes.TokenIssued, AuditOutcomes.Allowed,
                $"{GrantTypes.Ciba}: approval {approval.Id} approved by {approval.DecidedBy}, max_uses {approval.MaxUses}", request.RequestId) with { Jti = claims.Jti },
            changes, null, cancellationToken);
        if (issued.Succeeded)
        {
            // On a failed record (server_error) the approval stays redeemable: the token was never handed out.
            entry.Current = redeemed;
        }

        return issued;
    }

    /// <summary>Approves or denies, once: only a member of the approval's group who is not the principal it acts for.</summary>
    public async Task<ApprovalDecision> DecideAsync(string id, bool approve, Approver who, string? comment, string? requestId, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            return new ApprovalDecision(ApprovalDecisionOutcome.NotFound, null, "No such approval request.", RefusalCodes.ApprovalNotFound);
        }

        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            var approval = entry.Current;
            ApprovalDecision? refusal = null;
            if (approval.Status == ApprovalStatus.Pending && now >= approval.ExpiresAt)
            {
                approval = await ExpireAsync(entry, requestId, cancellationToken);
            }

            if (approval.Status == ApprovalStatus.Expired)
            {
                refusal = new(ApprovalDecisionOutcome.Expired, approval, "The approval request has expired.", RefusalCodes.ApprovalExpired, Audited: true);
            }
            else if (approval.Status != ApprovalStatus.Pending)
            {
                // Reject a second decision: the first one stands, whoever raced it.
                refusal = new(ApprovalDecisionOutcome.AlreadyDecided, approval, $"The request was already {(approval.Status == ApprovalStatus.Denied ? "denied" : "approved")} by {approval.DecidedBy}.",
                    RefusalCodes.ApprovalAlreadyDecided, Audited: true);
            }
            else if (who.Idp is not null && who.Idp == approval.Idp && who.Sub == approval.Principal)
            {
                // Reject self-approval: the agent acts for this person; someone else must agree.
                refusal = new(ApprovalDecisionOutcome.SelfApproval, approval, "The principal an agent acts for cannot approve its own request.", RefusalCodes.ApprovalSelfApproval, Audited: true);
            }
            else if (IsInActorChain(who, approval))
            {
                // Reject an approver who is one of the agents asking: an agent never approves its own request, whatever identity it holds.
                refusal = new(ApprovalDecisionOutcome.ApproverInChain, approval, "An agent in the request's actor chain cannot approve it.", RefusalCodes.ApprovalApproverInChain, Audited: true);
            }
            else if (!IsMember(who, approval.Group))
            {
                // Reject anyone outside the scope's group, the bootstrap token included: admins administer, approvers approve.
                refusal = new(ApprovalDecisionOutcome.NotAMember, approval, $"Only members of approver group '{approval.Group}' decide this request.", RefusalCodes.ApprovalNotAMember, Audited: true);
            }

            if (refusal is not null)
            {
                await _audit.AppendAsync(approval.ToAuditRecord(AuditTypes.AdminDenied, AuditOutcomes.Denied,
                    $"{(approve ? "approve" : "deny")} approval {approval.Id} by {who.Name}: {refusal.Outcome}", requestId) with { ReasonCode = refusal.Code }, [], cancellationToken);
                return refusal;
            }

            var decided = approval with
            {
                Status = approve ? ApprovalStatus.Approved : ApprovalStatus.Denied,
                DecidedBy = who.Name,
                DecidedAt = now,
                Comment = comment,
                ExpiresAt = approve && approval.ExpiresAt < now + RedeemWindow ? now + RedeemWindow : approval.ExpiresAt,
            };
            await _audit.AppendAsync(decided.ToAuditRecord(approve ? AuditTypes.ApprovalApproved : AuditTypes.ApprovalDenied, approve ? AuditOutcomes.Allowed : AuditOutcomes.Denied,
                $"approval {approval.Id} {decided.Status} by {who.Name}" + (comment is null ? "" : $": {DisplayText.Clip(comment)}"), requestId),
                [new ApprovalDecided(decided, ApprovalStatus.Pending)], cancellationToken);
            entry.Current = decided;
            return new ApprovalDecision(ApprovalDecisionOutcome.Decided, decided, $"The request was {decided.Status}.");
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>
    /// Ends an approval (docs/approvals.md, "Revoking"): a pending or approved one can no longer yield a token; a
    /// redeemed one's token is revoked, in the same durable step. Denied and expired ones have
    /// nothing left to revoke.
    /// </summary>
    public async Task<ApprovalDecision> RevokeAsync(string id, string revokedBy, string? requestId, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(id, out var entry))
        {
            return new ApprovalDecision(ApprovalDecisionOutcome.NotFound, null, "No such approval request.", RefusalCodes.ApprovalNotFound);
        }

        await entry.Gate.WaitAsync(cancellationToken);
        try
        {
            var before = entry.Current;
            if (before.Status == ApprovalStatus.Revoked)
            {
                // Revoking twice changes nothing and is not an error.
                return new ApprovalDecision(ApprovalDecisionOutcome.Decided, before, $"The request was already revoked by {before.RevokedBy}.");
            }

            if (before.Status is ApprovalStatus.Denied or ApprovalStatus.Expired)
            {
                return new ApprovalDecision(ApprovalDecisionOutcome.AlreadyDecided, before, $"The request is {before.Status}: there is nothing to revoke.", RefusalCodes.ApprovalNothingToRevoke);
            }

            var now = time.GetUtcNow();
            var revoked = before with { Status = ApprovalStatus.Revoked, RevokedBy = revokedBy, RevokedAt = now };
            List<StateChange> changes = [new ApprovalDecided(revoked, before.Status)];
            Revocation.RevocationEntry? token = null;
            if (before.RedeemedJti is { } jti)
            {
                // The token was issued before now; its exp is not at hand.
                token = new Revocation.RevocationEntry(Revocation.RevocationKind.Token, jti, now, Revocation.RevocationService.CoversTokensUntil(now));
                changes.Add(token);
            }

            await _audit.AppendAsync(revoked.ToAuditRecord(AuditTypes.ApprovalRevoked, AuditOutcomes.Allowed,
                $"approval {id} ({before.Status}) revoked by {revokedBy}" + (token is null ? "" : $"; its token {token.Id} revoked"), requestId) with { Jti = token?.Id },
                changes, cancellationToken);
            if (token is not null)
            {
                revocations.Apply(token);
            }

            entry.Current = revoked;
            return new ApprovalDecision(ApprovalDecisionOutcome.Decided, revoked, "The request was revoked.");
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>Whether the approval still waits for a decision (notifications stop retrying once it does not).</summary>
    private bool IsWaiting(string id) =>
        _entries.TryGetValue(id, out var entry) && entry.Current.Status == ApprovalStatus.Pending && time.GetUtcNow() < entry.Current.ExpiresAt;

    /// <summary>
    /// Whether <paramref name="who"/> is one of the agents behind the request: the asking agent or
    /// any actor in its chain, named by its id or by the federated identity it authenticates with.
    /// </summary>
    private bool IsInActorChain(Approver who, ApprovalRequest approval)
    {
        if (who.Idp is null)
        {
            return false;
        }

        foreach (var agentId in approval.ActorChain.Append(approval.ClientId))
        {
            if (string.Equals(who.Sub, agentId, StringComparison.Ordinal))
            {
                return true;
            }

            var federated = live.Config.Agents.FirstOrDefault(a => a.Id == agentId)?.Auth.Federated;
            if (federated is not null && federated.Idp == who.Idp && federated.Sub == who.Sub)
            {
                return true;
            }
        }

        return false;
    }

    private bool IsMember(Approver who, string group) =>
        who.Idp is not null && live.Config.ApproverGroups.Any(g => g.Id == group && g.Members.Any(m => m.Idp == who.Idp && m.Sub == who.Sub));

    /// <summary>
    /// Expires what is due, forgets what ended more than <see cref="History"/> ago, and deletes the
    /// rows of what ended more than <see cref="RowRetention"/> ago.
    /// </summary>
    public async Task ExpireDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var entry in _entries.Values)
        {
            var current = entry.Current;
            if (ApprovalStatus.IsOpen(current.Status) && now >= current.ExpiresAt)
            {
                await entry.Gate.WaitAsync(cancellationToken);
                try
                {
                    if (entry.Current.Status is ApprovalStatus.Pending or ApprovalStatus.Approved && now >= entry.Current.ExpiresAt)
                    {
                        await ExpireAsync(entry, null, cancellationToken);
                    }
                }
                finally
                {
                    entry.Gate.Release();
                }
            }
            else if (!ApprovalStatus.IsOpen(current.Status) && current.ExpiresAt < now - History)
            {
                _entries.TryRemove(current.Id, out _);
            }
        }

        await store.PruneAsync(now - RowRetention, cancellationToken);
    }

    /// <summary>Moves an open approval to expired, on record. Call with the entry's lock held.</summary>
    private async Task<ApprovalRequest> ExpireAsync(Entry entry, string? requestId, CancellationToken cancellationToken)
    {
        var before = entry.Current;
        var expired = before with { Status = ApprovalStatus.Expired };
        await _audit.AppendAsync(expired.ToAuditRecord(AuditTypes.ApprovalExpired, AuditOutcomes.Denied,
            before.Status == ApprovalStatus.Approved ? $"approval {before.Id} approved by {before.DecidedBy} but never redeemed" : $"approval {before.Id} not decided in time", requestId),
            [new ApprovalDecided(expired, before.Status)], cancellationToken);
        entry.Current = expired;
        return expired;
    }

    /// <summary>A pending approval past its expiry is shown as expired even before the transition is on record.</summary>
    private static ApprovalRequest Displayed(ApprovalRequest a, DateTimeOffset now) =>
        a.Status == ApprovalStatus.Pending && now >= a.ExpiresAt ? a with { Status = ApprovalStatus.Expired } : a;

    private sealed class Entry(ApprovalRequest approval)
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ApprovalRequest Current { get; set; } = approval;

        /// <summary>When the agent last polled (or asked); slow_down is measured from here.</summary>
        public DateTimeOffset LastPoll { get; set; } = approval.CreatedAt;

        public int Interval { get; set; } = approval.Interval;
    }
}
