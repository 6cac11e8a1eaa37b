using System.Globalization;

namespace Tessera.Core.Tests.Audit;

public sealed class AuditEventTests
{
    [Fact]
    public void The_span_time_formatter_writes_exactly_what_the_string_formatter_returns()
    {
        var random = new Random(4);
        var times = new List<DateTimeOffset>
        {
            DateTimeOffset.MinValue,
            DateTimeOffset.MaxValue,
            new(2028, 2, 29, 23, 59, 59, 999, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 29, 4, 47, 0, 5, TimeSpan.FromHours(-7)).AddTicks(9999),
        };
        for (var i = 0; i < 10_000; i++)
        {
            times.Add(new DateTimeOffset(random.NextInt64(DateTimeOffset.MinValue.Ticks, DateTimeOffset.MaxValue.Ticks), TimeSpan.Zero));
        }

        Span<byte> written = stackalloc byte[24];
        foreach (var time in times)
        {
            AuditEvent.FormatTime(time, written);
            Assert.Equal(AuditEvent.FormatTime(time), Encoding.ASCII.GetString(written));
        }
    }

    [Fact]
    public void The_hashed_form_keeps_its_byte_format_so_old_logs_still_verify()
    {
        var record = new AuditRecord
        {
            Type = AuditTypes.TokenIssued,
            Outcome = AuditOutcomes.Allowed,
            Agent = "crm-agent",
            Tool = "crm",
            Scopes = ["crm:read", "crm:write"],
            Jti = "j+1<2>",
            Reason = "client_credentials",
            RequestId = "0HN:1",
        };
        var time = new DateTimeOffset(2026, 11, 29, 4, 47, 1, 234, TimeSpan.Zero).AddTicks(5678);

        var json = Encoding.UTF8.GetString(AuditEvent.Serialize(7, time, record, AuditEvent.GenesisHash));

        Assert.Equal(
            """{"seq":7,"time":"2026-11-29T04:47:01.234Z","type":"token.issued","outcome":"allowed","agent":"crm-agent","tool":"crm","scopes":["crm:read","crm:write"],"jti":"j\u002B1\u003C2\u003E","reason":"client_credentials","request_id":"0HN:1","prev_hash":"""
            + "\"" + AuditEvent.GenesisHash + "\"}",
            json);
    }

    [Fact]
    public void A_refusals_reason_code_is_hashed_after_its_reason_and_read_back()
    {
        var record = new AuditRecord
        {
            Type = AuditTypes.TokenDenied,
            Outcome = AuditOutcomes.Denied,
            Reason = "invalid_request: parameter 'scope' repeated",
            ReasonCode = Core.Protocol.RefusalCodes.FormDuplicateParameter,
            RequestId = "0HN:2",
        };
        var time = new DateTimeOffset(2026, 11, 29, 4, 47, 1, 234, TimeSpan.Zero);

        var bytes = AuditEvent.Serialize(8, time, record, AuditEvent.GenesisHash);

        Assert.Equal(
            """{"seq":8,"time":"2026-11-29T04:47:01.234Z","type":"token.denied","outcome":"denied","reason":"invalid_request: parameter \u0027scope\u0027 repeated","reason_code":"form.duplicate_parameter","request_id":"0HN:2","prev_hash":"""
            + "\"" + AuditEvent.GenesisHash + "\"}",
            Encoding.UTF8.GetString(bytes));
        Assert.Equal(record, AuditEvent.Parse(bytes, "hash").Record);
    }

    [Fact]
    public async Task The_log_stores_the_same_bytes_as_Serialize_for_every_event_of_a_batch()
    {
        var store = new MemoryAuditStore();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, 999, TimeSpan.Zero));
        await using var log = new AuditLog(store, time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(TestContext.Current.CancellationToken);

        var appends = Enumerable.Range(0, 200).Select(i => log.AppendAsync(new AuditRecord
        {
            Type = AuditTypes.TokenIssued,
            Outcome = AuditOutcomes.Allowed,
            Agent = i % 2 == 0 ? "a" : null,
            Reason = new string('x', i * 7),
            RequestId = i.ToString(CultureInfo.InvariantCulture),
        }, cancellationToken: TestContext.Current.CancellationToken)).ToList();
        var events = await Task.WhenAll(appends);

        var prev = AuditEvent.GenesisHash;
        foreach (var e in events.OrderBy(e => e.Seq))
        {
            Assert.Equal(AuditEvent.Serialize(e.Seq, e.Time, e.Record, prev), e.Json);
            prev = e.Hash;
        }
    }

    [Fact]
    public void An_events_node_is_hashed_after_its_seq_and_read_back()
    {
        var record = new AuditRecord { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = "crm-agent" };
        var time = new DateTimeOffset(2026, 11, 29, 4, 47, 1, 234, TimeSpan.Zero);

        var bytes = AuditEvent.Serialize(9, time, record, AuditEvent.GenesisHash, "node-a");

        Assert.Equal(
            """{"seq":9,"node":"node-a","time":"2026-11-29T04:47:01.234Z","type":"token.issued","outcome":"allowed","agent":"crm-agent","prev_hash":"""
            + "\"" + AuditEvent.GenesisHash + "\"}",
            Encoding.UTF8.GetString(bytes));
        Assert.Equal("node-a", AuditEvent.Parse(bytes, "hash").Node);
        Assert.Null(AuditEvent.Parse(AuditEvent.Serialize(9, time, record, AuditEvent.GenesisHash), "hash").Node);
    }

    [Fact]
    public async Task The_log_of_a_store_of_one_chain_per_node_names_the_node_in_every_event()
    {
        var store = new MemoryAuditStore { Node = "node-a" };
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var log = new AuditLog(store, time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(TestContext.Current.CancellationToken);

        var e = await log.AppendAsync(new AuditRecord { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed }, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("node-a", e.Node);
        Assert.Equal(AuditEvent.Serialize(e.Seq, e.Time, e.Record, AuditEvent.GenesisHash, "node-a"), e.Json);
    }
}
