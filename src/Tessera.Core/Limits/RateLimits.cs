using System.Globalization;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;

namespace Tessera.Core.Limits;

/// <summary>
/// The rate limits of <c>rate_limits</c> (docs/security.md, "Rate limits and aggregated refusals").
/// Only failures are counted: a failed client authentication counts against its source and, for the
/// secret methods, its client id (per minute); a request refused as unauthenticated or malformed
/// counts against its source (per second, with a burst). Failure is known only after an attempt,
/// so an attempt is checked before any work and counted after it failed; once a source or client id
/// has used up its allowance, its further attempts are refused (429) before the secret or token is
/// looked at, until time refills it.
/// While a source or client id is limited, its refusals are not each recorded: one
/// <see cref="AuditTypes.RateLimitExceeded"/> event marks the start, and a
/// <see cref="AuditTypes.RateLimitSummary"/> every <see cref="ReportEvery"/> gives the count, the
/// last one saying that the limit was lifted.
/// </summary>
/// <remarks>
/// Hand-written rather than System.Threading.RateLimiting's partitioned limiters, which count every
/// acquisition instead of failures, read the Stopwatch instead of <see cref="TimeProvider"/> (so
/// their windows cannot be tested without waiting), and keep as many partitions as keys they are
/// given. The HTTP layer plugs this into ASP.NET Core's rate limiting middleware.
/// </remarks>
public sealed class RateLimits : IDisposable
{
    /// <summary>How often the summaries of limited sources and client ids are recorded.</summary>
    public static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);

    /// <summary>A client id is attacker-chosen text: the event carries it in <c>agent</c>, its reason only refers to it.</summary>
    private const string ClientInAgent = "the client id in 'agent'";

    private readonly AuditLog _audit;
    private readonly FailureTable<string> _clients;
    private readonly FailureTable<SourceAddress> _authSources;
    private readonly FailureTable<SourceAddress> _refusalSources;
    private readonly ITimer? _timer;

    public RateLimits(TesseraConfig config, AuditLog audit, TimeProvider time)
    {
        var o = config.RateLimits;
        _audit = audit;
        Enabled = o.Enabled;
        _clients = new(new FailureRule("failed client authentications for {0}", "client ids beyond the tracked maximum, together", $"{o.FailedAuthPerClient} per minute",
            o.FailedAuthPerClient, o.FailedAuthPerClient / 60.0, "Too many failed authentications for this client id"), o.MaxTracked, time);
        _authSources = new(new FailureRule("failed client authentications from {0}", "sources beyond the tracked maximum, together", $"{o.FailedAuthPerSource} per minute",
            o.FailedAuthPerSource, o.FailedAuthPerSource / 60.0, "Too many failed client authentications from this address"), o.MaxTracked, time);
        _refusalSources = new(new FailureRule("refused requests from {0}", "sources beyond the tracked maximum, together", $"{o.RefusalBurst} at once, then {o.RefusalsPerSecond} per second",
            o.RefusalBurst, o.RefusalsPerSecond, "Too many refused requests from this address"), o.MaxTracked, time);
        if (Enabled)
        {
            _timer = time.CreateTimer(_ => Report(), null, ReportEvery, ReportEvery);
        }
    }

    public bool Enabled { get; }

    /// <summary>
    /// Before a client authentication is checked: refused while its source, or (for a secret) its
    /// claimed client id, has failed too often.
    /// </summary>
    /// <param name="source">Where the request came from.</param>
    /// <param name="secretClientId">The claimed client id when a secret is presented (the only thing that can be guessed); otherwise null.</param>
    public LimitVerdict CheckClientAuthentication(SourceAddress source, string? secretClientId)
    {
        if (!Enabled)
        {
            return LimitVerdict.Allow;
        }

        var bySource = Check(_authSources, source, Describe, agent: null);
        if (!bySource.Allowed || secretClientId is null)
        {
            return bySource;
        }

        return Check(_clients, secretClientId, static _ => ClientInAgent, agent: secretClientId);
    }

    /// <summary>After a client authentication failed (the client did not prove who it is).</summary>
    public void ClientAuthenticationFailed(SourceAddress source, string? secretClientId)
    {
        if (!Enabled)
        {
            return;
        }

        _authSources.Fail(source);
        if (secretClientId is not null)
        {
            _clients.Fail(secretClientId);
        }
    }

    /// <summary>Before any request: refused while its source has had too many requests refused.</summary>
    public LimitVerdict CheckSource(SourceAddress source) =>
        Enabled ? Check(_refusalSources, source, Describe, agent: null) : LimitVerdict.Allow;

    /// <summary>After a request was refused as unauthenticated or malformed.</summary>
    public void Refused(SourceAddress source)
    {
        if (Enabled)
        {
            _refusalSources.Fail(source);
        }
    }

    /// <summary>How many sources and client ids are tracked (all limits together): bounded by <c>max_tracked</c> each.</summary>
    internal int Tracked => _clients.Tracked + _authSources.Tracked + _refusalSources.Tracked;

    /// <summary>Records the summaries due and forgets what holds nothing any more. Runs every <see cref="ReportEvery"/>.</summary>
    internal void Report()
    {
        Summarize(_authSources, Describe, static _ => null);
        Summarize(_clients, static _ => ClientInAgent, static k => k);
        Summarize(_refusalSources, Describe, static _ => null);
    }

    /// <summary>A source as the audit log names it (a static method group: no allocation per request).</summary>
    private static string Describe(SourceAddress source) => source.ToString();

    /// <summary>Checks <paramref name="key"/>; <paramref name="who"/> names it, called only when an event is written.</summary>
    private LimitVerdict Check<TKey>(FailureTable<TKey> table, TKey key, Func<TKey, string> who, string? agent)
        where TKey : notnull
    {
        var (allowed, retryAfter, started, others) = table.Check(key);
        if (allowed)
        {
            return LimitVerdict.Allow;
        }

        if (started)
        {
            var rule = table.Rule;
            Record(new AuditRecord
            {
                Type = AuditTypes.RateLimitExceeded,
                Outcome = AuditOutcomes.Denied,
                Agent = others ? null : agent,
                Status = 429,
                Reason = $"{Counted(rule, others ? rule.Others : who(key))}: more than {rule.Allowance}; further attempts are refused (429) and counted, not recorded one by one",
            });
        }

        return new LimitVerdict(false, retryAfter, table.Rule.Refusal);
    }

    private void Summarize<TKey>(FailureTable<TKey> table, Func<TKey, string> who, Func<TKey, string?> agent)
        where TKey : notnull
    {
        foreach (var (key, refused, from, ended) in table.Sweep())
        {
            var rule = table.Rule;
            var counted = Counted(rule, key is null ? rule.Others : who(key));
            Record(new AuditRecord
            {
                Type = AuditTypes.RateLimitSummary,
                Outcome = AuditOutcomes.Denied,
                Agent = key is null ? null : agent(key),
                Status = 429,
                Reason = ended
                    ? string.Create(CultureInfo.InvariantCulture, $"{counted}: limit lifted; {refused} attempts refused since {AuditEvent.FormatTime(from)}")
                    : string.Create(CultureInfo.InvariantCulture, $"{counted}: {refused} attempts refused since {AuditEvent.FormatTime(from)}; still limited ({rule.Allowance})"),
            });
        }
    }

    private static string Counted(FailureRule rule, string who) => string.Format(CultureInfo.InvariantCulture, rule.Counted, who);

    /// <summary>
    /// Appends without waiting: these events are written from the request path and a timer, and a
    /// failed write is already logged (and turns the audit log unhealthy) by the writer.
    /// </summary>
    private void Record(AuditRecord record)
    {
        try
        {
            _ = _audit.AppendAsync(record).ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or AuditWriteException)
        {
            // Shutting down: nothing more is recorded.
        }
    }

    public void Dispose() => _timer?.Dispose();
}
