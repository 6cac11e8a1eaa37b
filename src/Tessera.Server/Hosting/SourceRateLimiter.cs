using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Tessera.Core.Limits;
using Tessera.Core.Protocol;
using Tessera.Server.OAuth;

namespace Tessera.Server.Hosting;

/// <summary>
/// ASP.NET Core's rate limiting middleware, partitioned by source: a request from a source that has
/// had too many requests refused (<see cref="RateLimits.CheckSource"/>) is answered 429 before any
/// endpoint runs, with <c>Retry-After</c>. The rule — what counts, when to refuse — is Core's; this
/// only adapts it. Requests from every other source cost one dictionary lookup and no allocation.
/// </summary>
internal sealed class SourceRateLimiter(RateLimits limits) : PartitionedRateLimiter<HttpContext>
{
    /// <summary>
    /// The middleware asks twice about a request it refuses (an attempt, then a wait): the refusal is
    /// kept on the request so it is counted once. Only refused requests touch <c>Items</c> (which
    /// allocates on first use).
    /// </summary>
    private static readonly object RefusalKey = new();

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        var verdict = limits.CheckSource(SourceAddress.From(resource.Connection.RemoteIpAddress));
        if (verdict.Allowed)
        {
            return Admitted.Instance;
        }

        var refusal = new Refusal(verdict);
        resource.Items[RefusalKey] = refusal;
        return refusal;
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(resource.Items.TryGetValue(RefusalKey, out var earlier) && earlier is Refusal refusal
            ? refusal
            : AttemptAcquireCore(resource, permitCount));

    /// <summary>The 429 answer: an OAuth error (<c>slow_down</c>) under <c>/oauth</c>, problem details elsewhere.</summary>
    public static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var verdict = rejected.Lease is Refusal refusal ? refusal.Verdict : new LimitVerdict(false, TimeSpan.FromSeconds(1), "Too many refused requests from this address");
        var detail = $"{verdict.Limit}; retry after {verdict.RetryAfterSeconds} seconds.";
        context.Response.Headers.RetryAfter = verdict.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        if (context.Request.Path.StartsWithSegments("/oauth"))
        {
            await OAuthResponses.WriteErrorAsync(context, new OAuthError(OAuthErrorCodes.SlowDown, detail, 429));
            return;
        }

        await RefusalDelay.HoldAsync(context);
        context.Response.StatusCode = 429;
        await Results.Problem(statusCode: 429, title: "Too many requests", detail: detail).ExecuteAsync(context);
    }

    private sealed class Admitted : RateLimitLease
    {
        public static readonly Admitted Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }

    private sealed class Refusal(LimitVerdict verdict) : RateLimitLease
    {
        public LimitVerdict Verdict => verdict;

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? verdict.RetryAfter : null;
            return metadata is not null;
        }
    }
}
