using System.Buffers.Text;
using Tessera.Core.Revocation;
using Tessera.Core.Sessions;
using Tessera.Core.Tests.Configuration;

namespace Tessera.Core.Tests.Sessions;

public sealed class ConsoleSessionsTests : IAsyncLifetime
{
    private readonly CoreHarness _harness = new();
    private readonly RevocationIndex _index = new();
    private ConsoleSessions _sessions = null!;

    public async ValueTask InitializeAsync()
    {
        await _harness.StartAsync(ConfigFixture.Load(ConfigFixture.Yaml()), initializeKeys: false, TestContext.Current.CancellationToken);
        _sessions = new ConsoleSessions(_index, _harness.Log, _harness.Time);
    }

    public ValueTask DisposeAsync() => _harness.DisposeAsync();

    [Fact]
    public void A_new_session_has_an_unguessable_id_of_its_own_and_is_live()
    {
        var first = _sessions.Start("carol");
        var second = _sessions.Start("carol");

        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(16, Base64Url.DecodeFromChars(first.Id).Length);
        Assert.Equal(_harness.Time.GetUtcNow(), first.SignedInAt);
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(first));
    }

    [Fact]
    public void A_session_unused_for_the_idle_timeout_ends_and_each_request_within_it_extends_it()
    {
        var session = _sessions.Start("carol");
        _harness.Time.Advance(ConsoleSessions.IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(session));
        session = _sessions.Extend(session);

        _harness.Time.Advance(ConsoleSessions.IdleTimeout - TimeSpan.FromSeconds(1));
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(session));
        _harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ConsoleSessionVerdict.Idle, _sessions.Check(session));
    }

    [Fact]
    public void A_session_kept_busy_ends_at_its_lifetime_and_is_never_extended_past_it()
    {
        var session = _sessions.Start("carol");
        var end = session.SignedInAt + ConsoleSessions.MaxLifetime;
        while (_harness.Time.GetUtcNow() + TimeSpan.FromMinutes(10) < end)
        {
            _harness.Time.Advance(TimeSpan.FromMinutes(10));
            Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(session));
            session = _sessions.Extend(session);
        }

        Assert.Equal(end, session.IdleUntil);
        _harness.Time.Advance(end - _harness.Time.GetUtcNow());
        Assert.Equal(ConsoleSessionVerdict.Idle, _sessions.Check(session));

        // A cookie whose idle end was forged past the lifetime still ends at it (the cookie is authenticated; this is the second lock).
        Assert.Equal(ConsoleSessionVerdict.TooOld, _sessions.Check(session with { IdleUntil = end + TimeSpan.FromMinutes(5) }));
    }

    [Fact]
    public async Task Signing_out_ends_that_session_durably_with_its_audit_event_and_no_other()
    {
        var session = _sessions.Start("carol");
        var other = _sessions.Start("carol");

        await _sessions.SignOutAsync(session, "corp:carol", "req-1", TestContext.Current.CancellationToken);

        Assert.Equal(ConsoleSessionVerdict.SignedOut, _sessions.Check(session));
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(other));
        var recorded = Assert.Single(_harness.AuditStore.Events, e => e.Record.Type == AuditTypes.ConsoleSignedOut);
        Assert.Equal("corp:carol", recorded.Record.Principal);
        Assert.Equal("req-1", recorded.Record.RequestId);
        Assert.DoesNotContain(session.Id, recorded.Record.Reason, StringComparison.Ordinal);
        var entry = Assert.IsType<RevocationEntry>(Assert.Single(_harness.AuditStore.Changes));
        Assert.Equal(RevocationKind.Session, entry.Kind);
        Assert.Equal(session.Id, entry.Id);

        // Kept as long as the session could have lived, then pruned like every revocation.
        Assert.True(entry.ExpiresAt >= session.SignedInAt + ConsoleSessions.MaxLifetime);
        Assert.True(entry.ExpiresAt <= session.SignedInAt + ConsoleSessions.MaxLifetime + TimeSpan.FromMinutes(5));
    }

    [Fact]
    public void A_sign_out_recorded_on_another_node_ends_the_session_here()
    {
        var session = _sessions.Start("carol");
        var now = _harness.Time.GetUtcNow();

        // What the cluster feed applies when another node's sign-out arrives.
        _index.Apply(new RevocationEntry(RevocationKind.Session, session.Id, now, now + ConsoleSessions.MaxLifetime));

        Assert.Equal(ConsoleSessionVerdict.SignedOut, _sessions.Check(session));
    }

    [Fact]
    public void Revoking_a_person_ends_the_sessions_they_signed_in_before_and_not_later_ones_nor_other_peoples()
    {
        var carols = _sessions.Start("carol");
        var bobs = _sessions.Start("bob");
        var bootstrap = _sessions.Start(sub: null);
        _harness.Time.Advance(TimeSpan.FromSeconds(30));
        var now = _harness.Time.GetUtcNow();
        _index.Apply(new RevocationEntry(RevocationKind.Principal, "carol", now, RevocationService.CoversTokensUntil(now)));

        Assert.Equal(ConsoleSessionVerdict.PrincipalRevoked, _sessions.Check(carols));
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(bobs));
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(bootstrap));

        _harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ConsoleSessionVerdict.Live, _sessions.Check(_sessions.Start("carol")));
    }
}
