namespace Tessera.Core.Tests.Audit;

public sealed class AuditCursorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_single_chains_cursor_is_its_sequence_number()
    {
        Assert.True(AuditCursor.TryParse("42", out var cursor));

        Assert.Equal(42, cursor.AfterSeq);
        Assert.Null(cursor.ByNode);
        Assert.Equal("42", cursor.Format());
        Assert.Equal("7", cursor.After([Event("a", 7, 0)]).Format());
    }

    [Fact]
    public void A_cursor_of_every_node_reads_back_as_written()
    {
        var cursor = new AuditCursor(0, new Dictionary<string, long> { ["node-b"] = 3, ["node-a"] = 12, ["ñ \"x\""] = 1 });

        Assert.True(AuditCursor.TryParse(cursor.Format(), out var read));

        Assert.Equal(cursor.ByNode!.OrderBy(n => n.Key), read.ByNode!.OrderBy(n => n.Key));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("not a cursor")]
    [InlineData("eyJhIjotMX0")] // {"a":-1}
    [InlineData("eyJhIjoiMSJ9")] // {"a":"1"}
    [InlineData("WzFd")] // [1]
    [InlineData("eyJhIjoxLCJhIjoyfQ")] // {"a":1,"a":2}
    [InlineData("eyJhIjoxfXt9")] // {"a":1}{}
    public void A_cursor_that_is_not_one_is_refused(string text) =>
        Assert.False(AuditCursor.TryParse(text, out _));

    [Fact]
    public void A_token_naming_no_node_is_every_chain_from_its_start()
    {
        Assert.True(AuditCursor.TryParse("e30", out var cursor)); // {}

        Assert.Empty(cursor.ByNode!);
    }

    [Fact]
    public void A_cursor_longer_than_any_few_nodes_need_is_refused_unread() =>
        Assert.False(AuditCursor.TryParse(new string('A', 8193), out _));

    [Fact]
    public void The_next_cursor_keeps_nodes_absent_from_the_page_and_moves_the_others_to_their_last_event()
    {
        var cursor = new AuditCursor(0, new Dictionary<string, long> { ["a"] = 5, ["c"] = 9 });

        var next = cursor.After([Event("a", 6, 0), Event("b", 1, 1), Event("a", 7, 2)]);

        Assert.Equal(new Dictionary<string, long> { ["a"] = 7, ["b"] = 1, ["c"] = 9 }, next.ByNode);
    }

    [Fact]
    public void Chains_merge_by_time_each_in_sequence_order_even_when_a_chains_times_go_back()
    {
        IReadOnlyList<AuditEvent> a = [Event("a", 1, 10), Event("a", 2, 5), Event("a", 3, 30)];
        IReadOnlyList<AuditEvent> b = [Event("b", 1, 10), Event("b", 2, 20)];

        var merged = AuditCursor.Merge([b, a], limit: 10);

        Assert.Equal(["a1", "a2", "b1", "b2", "a3"], merged.Select(e => e.Node + e.Seq));
    }

    [Fact]
    public void Pages_of_a_merge_continue_where_the_previous_one_stopped()
    {
        IReadOnlyList<AuditEvent> a = [.. Enumerable.Range(1, 7).Select(i => Event("a", i, i * 3))];
        IReadOnlyList<AuditEvent> b = [.. Enumerable.Range(1, 9).Select(i => Event("b", i, i * 2))];
        var whole = AuditCursor.Merge([a, b], limit: 100);

        var paged = new List<AuditEvent>();
        var cursor = new AuditCursor(0, new Dictionary<string, long>());
        while (true)
        {
            var rest = new[] { a, b }.Select(c => (IReadOnlyList<AuditEvent>)[.. c.Where(e => e.Seq > cursor.ByNode!.GetValueOrDefault(e.Node!))]).ToArray();
            var page = AuditCursor.Merge(rest, limit: 4);
            if (page.Count == 0)
            {
                break;
            }

            paged.AddRange(page);
            cursor = cursor.After(page);
        }

        Assert.Equal(whole.Select(e => e.Node + e.Seq), paged.Select(e => e.Node + e.Seq));
    }

    private static AuditEvent Event(string node, long seq, int seconds) => new()
    {
        Seq = seq,
        Time = T0.AddSeconds(seconds),
        Record = new AuditRecord { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed },
        PrevHash = AuditEvent.GenesisHash,
        Hash = AuditEvent.GenesisHash,
        Json = [],
        Node = node,
    };
}
