using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tessera.Storage.Contract;

namespace Tessera.Storage.Sqlite.Tests;

/// <summary>
/// The real audit writer fills a real SQLite file; then the file is edited behind Tessera's back,
/// as an intruder with disk access would, and the verifier must name the first event that changed.
/// </summary>
public sealed class AuditVerificationTests : IAsyncLifetime
{
    private const int EventCount = 20;

    /// <summary>Seq 3's agent: an id that JSON escapes (control, format, non-ASCII, quote, backslash, U+FFFD); its column still agrees.</summary>
    private const string HostileAgent = "evil\n\u001b[2K\u202e…\"\\\uFFFD";
    private readonly TempDatabase _db = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private SqliteTesseraStore _store = null!;
    private AuditEvent[] _events = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _store = new SqliteTesseraStore(_db.Path);
        await _store.MigrateAsync(Ct);
        await using var log = new AuditLog(_store.Audit, _time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(Ct);
        var events = new List<AuditEvent>();
        for (var i = 1; i <= EventCount; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(7));
            events.Add(await log.AppendAsync(new AuditRecord
            {
                Type = i % 5 == 0 ? AuditTypes.TokenDenied : AuditTypes.TokenExchanged,
                Outcome = i % 5 == 0 ? AuditOutcomes.Denied : AuditOutcomes.Allowed,
                Principal = "alice",
                Agent = i == 3 ? HostileAgent : i % 2 == 0 ? "support-agent" : "summarizer-agent",
                ActorChain = ["support-agent", "summarizer-agent"],
                Mission = i % 4 == 0 ? null : $"m-{i % 3}",
                Tool = "crm",
                Scopes = ["crm:read"],
                Jti = $"jti-{i}",
                RequestId = $"req-{i}",
            }, cancellationToken: Ct));
        }

        _events = [.. events];
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        _db.Dispose();
    }

    [Fact]
    public async Task An_untouched_log_verifies_with_every_event_counted()
    {
        var result = await VerifyAsync();

        Assert.True(result.IsIntact, result.Problem);
        Assert.Equal(EventCount, result.VerifiedCount);
        Assert.Null(result.BrokenAtSeq);
        Assert.Equal(_events[^1].Hash, result.HeadHash);
    }

    [Fact]
    public async Task Editing_one_events_json_breaks_the_chain_at_that_event()
    {
        var json = Encoding.UTF8.GetString(ReadJson(7));
        Assert.Contains("\"agent\":\"summarizer-agent\"", json, StringComparison.Ordinal);
        Execute("UPDATE audit_events SET json = $json, agent = 'support-agent' WHERE seq = 7",
            ("$json", Encoding.UTF8.GetBytes(json.Replace("\"agent\":\"summarizer-agent\"", "\"agent\":\"support-agent\"", StringComparison.Ordinal))));

        var result = await VerifyAsync();

        Assert.False(result.IsIntact);
        Assert.Equal(7, result.BrokenAtSeq);
        Assert.Equal(6, result.VerifiedCount);
        Assert.Contains("modified", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Editing_an_event_and_rehashing_it_breaks_the_chain_at_the_next_event()
    {
        var json = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ReadJson(7)).Replace("\"outcome\":\"allowed\"", "\"outcome\":\"denied\"", StringComparison.Ordinal));
        Execute("UPDATE audit_events SET json = $json, hash = $hash WHERE seq = 7",
            ("$json", json), ("$hash", Convert.ToHexStringLower(SHA256.HashData(json))));

        var result = await VerifyAsync();

        Assert.False(result.IsIntact);
        Assert.Equal(8, result.BrokenAtSeq);
        Assert.Contains("prev_hash", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_an_event_breaks_the_chain_at_its_sequence_number()
    {
        Execute("DELETE FROM audit_events WHERE seq = 12");

        var result = await VerifyAsync();

        Assert.False(result.IsIntact);
        Assert.Equal(12, result.BrokenAtSeq);
        Assert.Equal(11, result.VerifiedCount);
        Assert.Contains("missing", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_the_first_event_breaks_the_chain_at_seq_1()
    {
        Execute("DELETE FROM audit_events WHERE seq = 1");

        Assert.Equal(1, (await VerifyAsync()).BrokenAtSeq);
    }

    [Fact]
    public async Task Swapping_two_events_breaks_the_chain_at_the_lower_one()
    {
        var (json5, hash5) = (ReadJson(5), _events[4].Hash);
        var (json9, hash9) = (ReadJson(9), _events[8].Hash);
        Execute("UPDATE audit_events SET json = $json, hash = $hash WHERE seq = 5", ("$json", json9), ("$hash", hash9));
        Execute("UPDATE audit_events SET json = $json, hash = $hash WHERE seq = 9", ("$json", json5), ("$hash", hash5));

        var result = await VerifyAsync();

        Assert.False(result.IsIntact);
        Assert.Equal(5, result.BrokenAtSeq);
        Assert.Equal(4, result.VerifiedCount);
    }

    [Fact]
    public async Task A_value_tampered_into_another_sqlite_type_fails_verification_instead_of_crashing()
    {
        Execute("UPDATE audit_events SET json = 42 WHERE seq = 3");

        var result = await VerifyAsync();

        Assert.False(result.IsIntact);
        Assert.Equal(3, result.BrokenAtSeq);
    }

    [Fact]
    public async Task Cutting_off_the_tail_is_visible_only_through_the_head_hash()
    {
        Execute("DELETE FROM audit_events WHERE seq > 18");

        var result = await VerifyAsync();

        Assert.True(result.IsIntact);
        Assert.Equal(18, result.VerifiedCount);
        Assert.NotEqual(_events[^1].Hash, result.HeadHash);
        Assert.Equal(_events[17].Hash, result.HeadHash);
    }

    /// <summary>Each queryable column changed behind Tessera's back (the event's JSON and hash untouched), and what it was changed to.</summary>
    public static TheoryData<string, long, string> ChangedColumns() => new()
    {
        { "agent", 7, "agent = 'support-agent'" },
        { "agent", 7, "agent = NULL" },
        { "agent", 7, "agent = 42" },
        { "agent", 7, "agent = CAST(agent AS BLOB)" },
        { "type", 7, "type = 'token.denied'" },
        { "principal", 7, "principal = 'bob'" },
        { "principal", 7, "principal = NULL" },
        { "mission", 7, "mission = 'm-9'" },
        { "mission", 8, "mission = 'm-2'" },
        { "tool", 7, "tool = 'github'" },
        { "time_ms", 7, "time_ms = time_ms + 1" },
        { "time_ms", 7, "time_ms = time_ms - 86400000" },
        { "time_ms", 7, "time_ms = 'yesterday'" },
        { "time_ms", 7, "time_ms = 99999999999999999" },
    };

    [Theory]
    [MemberData(nameof(ChangedColumns))]
    public async Task A_queryable_column_that_disagrees_with_the_hashed_event_breaks_the_chain_there_naming_the_column(string column, long seq, string change)
    {
        Execute($"UPDATE audit_events SET {change} WHERE seq = {seq}");

        var result = await VerifyAsync();

        Assert.False(result.IsIntact);
        Assert.Equal(seq, result.BrokenAtSeq);
        Assert.Equal(seq - 1, result.VerifiedCount);
        Assert.Equal($"column {column} disagrees with the event", result.Problem);
    }

    [Fact]
    public async Task A_column_of_bytes_that_are_not_utf8_disagrees_even_where_they_would_read_as_the_events_replacement_character()
    {
        // The event's agent ends in U+FFFD; the column ends in a lone 0xFF, which reads as U+FFFD but no query for the agent finds.
        var bytes = Encoding.UTF8.GetBytes(HostileAgent);
        Execute("UPDATE audit_events SET agent = CAST($bytes AS TEXT) WHERE seq = 3", ("$bytes", (byte[])[.. bytes[..^3], 0xFF]));

        var result = await VerifyAsync();

        Assert.Equal(3, result.BrokenAtSeq);
        Assert.Equal("column agent disagrees with the event", result.Problem);
    }

    [Fact]
    public async Task A_column_set_back_to_the_events_value_verifies_again()
    {
        Execute("UPDATE audit_events SET agent = 'support-agent' WHERE seq = 7");
        Execute("UPDATE audit_events SET agent = 'summarizer-agent' WHERE seq = 7");

        Assert.True((await VerifyAsync()).IsIntact);
    }

    private Task<AuditVerification> VerifyAsync() => AuditVerifier.VerifyAsync(_store.Audit, Ct);

    private byte[] ReadJson(long seq)
    {
        using var raw = _db.OpenRaw();
        using var command = raw.CreateCommand();
        command.CommandText = "SELECT json FROM audit_events WHERE seq = $seq";
        command.Parameters.AddWithValue("$seq", seq);
        return (byte[])command.ExecuteScalar()!;
    }

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        using var raw = _db.OpenRaw();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        Assert.True(command.ExecuteNonQuery() > 0, $"the tampering statement changed nothing: {sql}");
    }
}
