using System.Net;
using Tessera.Core.Limits;

namespace Tessera.Core.Tests.Limits;

/// <summary>
/// What is counted (failures only), when an attempt is refused (before it is checked, once the
/// allowance is used up), how time gives it back, how refusals are recorded (one event at the start,
/// counts every minute, one at the end), and that a flood of invented keys costs bounded memory.
/// </summary>
public sealed class RateLimitsTests : IAsyncDisposable
{
    private static readonly SourceAddress Source = SourceAddress.From(IPAddress.Parse("203.0.113.7"));
    private static readonly SourceAddress Neighbour = SourceAddress.From(IPAddress.Parse("203.0.113.8"));

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 30, TimeSpan.Zero));
    private readonly MemoryAuditStore _store = new();
    private readonly List<IDisposable> _limits = [];
    private AuditLog? _audit;

    private async Task<RateLimits> StartAsync(string options = "")
    {
        var config = ConfigLoader.Load($$"""
            rate_limits:
              failed_auth_per_client: 3
              failed_auth_per_source: 6
              refusals_per_second: 1
              refusal_burst: 5
              {{options}}
            """, "tessera.yaml", Path.GetTempPath());
        _audit = new AuditLog(_store, _time, NullLogger<AuditLog>.Instance);
        await _audit.StartAsync(TestContext.Current.CancellationToken);
        var limits = new RateLimits(config, _audit, _time);
        _limits.Add(limits);
        return limits;
    }

    /// <summary>The rate-limit events on record, once everything appended so far is committed.</summary>
    private async Task<IReadOnlyList<AuditRecord>> EventsAsync()
    {
        await _audit!.AppendAsync(new AuditRecord { Type = "test.flush", Outcome = AuditOutcomes.Allowed }, cancellationToken: TestContext.Current.CancellationToken);
        return [.. _store.Events.Select(e => e.Record).Where(r => r.Type.StartsWith("ratelimit.", StringComparison.Ordinal))];
    }

    [Fact]
    public async Task Successful_attempts_are_never_counted_however_many()
    {
        var limits = await StartAsync();

        for (var i = 0; i < 100_000; i++)
        {
            Assert.True(limits.CheckClientAuthentication(Source, "support-agent").Allowed);
            Assert.True(limits.CheckSource(Source).Allowed);
        }

        Assert.Equal(0, limits.Tracked);
        Assert.Empty(await EventsAsync());
    }

    [Fact]
    public async Task A_source_is_refused_before_its_next_attempt_once_its_failures_use_up_the_allowance()
    {
        var limits = await StartAsync();

        for (var i = 0; i < 6; i++)
        {
            Assert.True(limits.CheckClientAuthentication(Source, null).Allowed, $"attempt {i + 1}");
            limits.ClientAuthenticationFailed(Source, null);
        }

        var refused = limits.CheckClientAuthentication(Source, null);
        Assert.False(refused.Allowed);
        Assert.Equal(10, refused.RetryAfterSeconds);
        Assert.Contains("from this address", refused.Limit, StringComparison.Ordinal);
        Assert.True(limits.CheckClientAuthentication(Neighbour, null).Allowed);
        Assert.True(limits.CheckSource(Source).Allowed);
    }

    [Fact]
    public async Task Failed_secrets_for_one_client_id_are_limited_across_sources_and_only_for_secrets()
    {
        var limits = await StartAsync();

        for (var i = 0; i < 3; i++)
        {
            var source = SourceAddress.From(IPAddress.Parse($"198.51.100.{i + 1}"));
            Assert.True(limits.CheckClientAuthentication(source, "support-agent").Allowed);
            limits.ClientAuthenticationFailed(source, "support-agent");
        }

        var refused = limits.CheckClientAuthentication(Neighbour, "support-agent");
        Assert.False(refused.Allowed);
        Assert.Equal(20, refused.RetryAfterSeconds);
        Assert.Contains("client id", refused.Limit, StringComparison.Ordinal);

        // Another client id, and a key-based attempt of the same one (nothing to guess), go on.
        Assert.True(limits.CheckClientAuthentication(Neighbour, "other-agent").Allowed);
        Assert.True(limits.CheckClientAuthentication(Neighbour, null).Allowed);
    }

    [Fact]
    public async Task Time_gives_the_allowance_back_at_its_rate()
    {
        var limits = await StartAsync();
        for (var i = 0; i < 3; i++)
        {
            limits.ClientAuthenticationFailed(Source, "support-agent");
        }

        _time.Advance(TimeSpan.FromSeconds(19));
        Assert.False(limits.CheckClientAuthentication(Source, "support-agent").Allowed);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limits.CheckClientAuthentication(Source, "support-agent").Allowed);
        limits.ClientAuthenticationFailed(Source, "support-agent");
        Assert.False(limits.CheckClientAuthentication(Source, "support-agent").Allowed);
    }

    [Fact]
    public async Task Refused_requests_from_a_source_are_allowed_in_a_burst_then_at_the_rate()
    {
        var limits = await StartAsync();

        for (var i = 0; i < 5; i++)
        {
            Assert.True(limits.CheckSource(Source).Allowed, $"request {i + 1}");
            limits.Refused(Source);
        }

        Assert.False(limits.CheckSource(Source).Allowed);
        Assert.Equal(1, limits.CheckSource(Source).RetryAfterSeconds);
        Assert.True(limits.CheckSource(Neighbour).Allowed);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limits.CheckSource(Source).Allowed);
        limits.Refused(Source);
        Assert.False(limits.CheckSource(Source).Allowed);
    }

    [Fact]
    public async Task A_limited_source_is_recorded_once_when_it_starts_then_by_count_every_minute_and_once_when_it_ends()
    {
        var limits = await StartAsync();
        for (var i = 0; i < 5; i++)
        {
            limits.Refused(Source);
        }

        for (var i = 0; i < 1000; i++)
        {
            Assert.False(limits.CheckSource(Source).Allowed);
        }

        var exceeded = Assert.Single(await EventsAsync());
        Assert.Equal(AuditTypes.RateLimitExceeded, exceeded.Type);
        Assert.Equal(AuditOutcomes.Denied, exceeded.Outcome);
        Assert.Equal(429, exceeded.Status);
        Assert.Equal("refused requests from 203.0.113.7: more than 5 at once, then 1 per second; further attempts are refused (429) and counted, not recorded one by one", exceeded.Reason);

        // The minute's summary (the report runs every minute from the start): the count, not 1000 events.
        _time.Advance(TimeSpan.FromMinutes(1));
        var summary = (await EventsAsync())[1];
        Assert.Equal(AuditTypes.RateLimitSummary, summary.Type);
        Assert.Equal("refused requests from 203.0.113.7: 1000 attempts refused since 2026-11-29T12:00:30.000Z; still limited (5 at once, then 1 per second)", summary.Reason);

        // A quiet minute ends the episode; then nothing more is written.
        _time.Advance(TimeSpan.FromMinutes(1));
        _time.Advance(TimeSpan.FromMinutes(5));
        var events = await EventsAsync();
        Assert.Equal(3, events.Count);
        Assert.Equal("refused requests from 203.0.113.7: limit lifted; 1000 attempts refused since 2026-11-29T12:00:30.000Z", events[2].Reason);
        Assert.Equal(0, limits.Tracked);

        // Limited again: a new episode, a new start event.
        for (var i = 0; i < 5; i++)
        {
            limits.Refused(Source);
        }

        Assert.False(limits.CheckSource(Source).Allowed);
        Assert.Equal(AuditTypes.RateLimitExceeded, (await EventsAsync())[3].Type);
    }

    [Fact]
    public async Task A_limited_client_id_is_named_in_the_agent_field_never_in_the_reason()
    {
        var limits = await StartAsync();
        const string hostile = "agent\"}\n{\"type\":\"token.issued\"";
        for (var i = 0; i < 3; i++)
        {
            limits.ClientAuthenticationFailed(Source, hostile);
        }

        Assert.False(limits.CheckClientAuthentication(Neighbour, hostile).Allowed);

        var exceeded = Assert.Single(await EventsAsync());
        Assert.Equal(hostile, exceeded.Agent);
        Assert.DoesNotContain("token.issued", exceeded.Reason, StringComparison.Ordinal);
        Assert.StartsWith("failed client authentications for the client id in 'agent': more than 3 per minute", exceeded.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_invented_client_ids_and_sources_tracks_a_bounded_number_and_is_limited_as_one()
    {
        var limits = await StartAsync("max_tracked: 100");
        var random = new Random(8693);

        for (var i = 0; i < 20_000; i++)
        {
            var source = SourceAddress.From(new IPAddress(random.NextInt64(1, uint.MaxValue)));
            var clientId = "client-" + random.NextInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (limits.CheckClientAuthentication(source, clientId).Allowed)
            {
                limits.ClientAuthenticationFailed(source, clientId);
            }

            if (limits.CheckSource(source).Allowed)
            {
                limits.Refused(source);
            }
        }

        Assert.True(limits.Tracked <= 300, $"{limits.Tracked} keys tracked");

        // Past the maximum, new keys share one allowance, long used up: refused.
        var fresh = SourceAddress.From(IPAddress.Parse("192.0.2.1"));
        Assert.False(limits.CheckClientAuthentication(fresh, "never-seen").Allowed);
        Assert.False(limits.CheckSource(fresh).Allowed);

        // Each limit recorded its shared allowance running out once, not once per key.
        var events = await EventsAsync();
        Assert.True(events.Count <= 300 + 3, $"{events.Count} events");
        Assert.Contains(events, e => e.Reason!.Contains("beyond the tracked maximum", StringComparison.Ordinal));

        // Once the flood stops, the tables empty again.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, limits.Tracked);
        Assert.True(limits.CheckSource(fresh).Allowed);
    }

    [Fact]
    public async Task Switched_off_nothing_is_counted_or_refused()
    {
        var limits = await StartAsync("enabled: false");

        for (var i = 0; i < 1000; i++)
        {
            limits.ClientAuthenticationFailed(Source, "support-agent");
            limits.Refused(Source);
        }

        Assert.True(limits.CheckClientAuthentication(Source, "support-agent").Allowed);
        Assert.True(limits.CheckSource(Source).Allowed);
        Assert.Equal(0, limits.Tracked);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var limits in _limits)
        {
            limits.Dispose();
        }

        if (_audit is not null)
        {
            await _audit.DisposeAsync();
        }
    }
}
