namespace Tessera.Client;

/// <summary>
/// A pending approval Tessera opened for a token request (the <c>approval_required</c> answer). Await
/// <see cref="WaitAsync"/> for a person's decision: it polls Tessera (CIBA) at the server's interval
/// and, once approved, caches the token so the agent's next call for the same tool and scopes uses it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The poll gate is a SemaphoreSlim whose wait handle is never asked for: it holds no unmanaged resource.")]
public sealed class ApprovalRequest
{
    private readonly TokenEndpointClient _endpoint;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DateTimeOffset _lastPoll;
    private ApprovalOutcome? _outcome;

    internal ApprovalRequest(string authReqId, TimeSpan interval, TimeSpan expiresIn, string tool, IReadOnlyList<string> scopes,
        TokenEndpointClient endpoint, TimeProvider time, DateTimeOffset answeredAt)
    {
        AuthReqId = authReqId;
        Interval = Bounded(interval);
        ExpiresIn = expiresIn > TimeSpan.Zero ? expiresIn : DefaultExpiresIn;
        ExpiresAt = answeredAt + ExpiresIn;
        Tool = tool;
        Scopes = scopes;
        _endpoint = endpoint;
        _time = time;
        _lastPoll = answeredAt;
    }

    /// <summary>The poll interval when the answer names none, or one below a second (CIBA Core §7.3, RFC 8628 §3.2: 5 s).</summary>
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>The longest poll interval kept: a server asking for more is polled this often rather than once a day.</summary>
    private static readonly TimeSpan MaxInterval = TimeSpan.FromMinutes(5);

    /// <summary>How long an approval stays open when the answer names no <c>expires_in</c> (Tessera's own lifetime of a request).</summary>
    private static readonly TimeSpan DefaultExpiresIn = TimeSpan.FromMinutes(10);

    /// <summary>The id to poll with (<c>grant_type=urn:openid:params:grant-type:ciba</c>), and the one an approver decides (<c>tessera approval approve ID</c>).</summary>
    public string AuthReqId { get; }

    /// <summary>How long to wait between polls: the server's interval, lengthened by every <c>slow_down</c>.</summary>
    public TimeSpan Interval { get; private set; }

    /// <summary>How long the approval stays open, from when it was answered (Tessera's 10 minutes when the answer names none).</summary>
    public TimeSpan ExpiresIn { get; }

    /// <summary>When the approval lapses unless someone decided (on the agent's clock).</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The tool the token was requested for.</summary>
    public string Tool { get; }

    /// <summary>The scopes requested.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>Where an approved token goes: the agent's cache entry for the request's tool, scopes and mission.</summary>
    internal Action<TesseraToken>? Approved { get; set; }

    /// <summary>
    /// Waits for the decision: polls Tessera every <see cref="Interval"/> (on the agent's
    /// <see cref="TimeProvider"/>), adding 5 s, or taking the server's longer interval, on each
    /// <c>slow_down</c> (RFC 8628 §3.5, CIBA Core §11), until the request is approved (the token, also
    /// cached for the agent's next call with the same tool and scopes), denied, or expired
    /// (<c>expired_token</c>, or still undecided after <see cref="ExpiresAt"/>). Concurrent callers
    /// share one poll; once decided, every call returns the same outcome.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the approval stays open; call again to resume).</param>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="TesseraTokenException">Tessera answered something else (an unknown or already redeemed <c>auth_req_id</c>, an outage).</exception>
    public async Task<ApprovalOutcome> WaitAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _outcome ??= await PollUntilDecidedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<ApprovalOutcome> PollUntilDecidedAsync(CancellationToken cancellationToken)
    {
        KeyValuePair<string, string>[] poll = [new("grant_type", TesseraAgent.CibaGrant), new("auth_req_id", AuthReqId)];
        while (true)
        {
            // Tessera counts the interval from the request and from each poll: a poll sooner is slow_down.
            var due = _lastPoll + Interval - _time.GetUtcNow();
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, _time, cancellationToken).ConfigureAwait(false);
            }

            _lastPoll = _time.GetUtcNow();
            try
            {
                var token = await _endpoint.RequestTokenAsync(poll, Tool, string.Join(' ', Scopes), cancellationToken).ConfigureAwait(false);
                Approved?.Invoke(token);
                return new ApprovalOutcome(ApprovalStatus.Approved, token, null);
            }
            catch (TesseraTokenException refused)
            {
                switch (refused.Error)
                {
                    case "authorization_pending" when _time.GetUtcNow() >= ExpiresAt:
                        return new ApprovalOutcome(ApprovalStatus.Expired, null, "Nobody decided before the approval request expired.");
                    case "authorization_pending":
                        break;
                    case "slow_down":
                        var longer = Interval + TimeSpan.FromSeconds(5);
                        Interval = Bounded(refused.Interval is { } server && server > longer ? server : longer);
                        break;
                    case "access_denied":
                        return new ApprovalOutcome(ApprovalStatus.Denied, null, refused.ErrorDescription);
                    case "expired_token":
                        return new ApprovalOutcome(ApprovalStatus.Expired, null, refused.ErrorDescription);
                    default:
                        throw;
                }
            }
        }
    }

    /// <summary>
    /// An interval from the wire kept sane: below a second (a broken or hostile answer would make the
    /// agent poll in a tight loop) is the default, above <see cref="MaxInterval"/> is that.
    /// </summary>
    private static TimeSpan Bounded(TimeSpan interval) =>
        interval < TimeSpan.FromSeconds(1) ? DefaultInterval : interval > MaxInterval ? MaxInterval : interval;

    /// <summary>Names the approval, never a token.</summary>
    public override string ToString() => $"ApprovalRequest {{ AuthReqId = {AuthReqId}, Tool = {Tool}, Scopes = {string.Join(' ', Scopes)}, ExpiresAt = {ExpiresAt:O} }}";
}
