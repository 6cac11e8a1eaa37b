namespace Tessera.Core.Tests.Audit;

/// <summary>
/// The verifier over chains longer than its chunks (8,192 rows, checked while the next chunk is
/// read): a change in the first, at either side of a chunk boundary, and in the last partial chunk
/// is found at its own sequence number.
/// </summary>
public sealed class AuditVerifierTests
{
    private const int Count = 20_000;
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly AuditRow[] Chain = Build(Count);

    [Fact]
    public async Task A_chain_of_several_chunks_verifies_whole()
    {
        var result = await VerifyAsync(Chain);

        Assert.True(result.IsIntact, result.Problem);
        Assert.Equal(Count, result.VerifiedCount);
        Assert.Equal(Chain[^1].Hash, result.HeadHash);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(16384)]
    [InlineData(16385)]
    [InlineData(Count)]
    public async Task A_changed_column_is_found_at_its_seq_in_any_chunk(long seq)
    {
        var rows = Chain.ToArray();
        rows[seq - 1] = rows[seq - 1] with { Columns = rows[seq - 1].Columns with { Agent = "other-agent" } };

        var result = await VerifyAsync(rows);

        Assert.Equal(seq, result.BrokenAtSeq);
        Assert.Equal(seq - 1, result.VerifiedCount);
        Assert.Equal("column agent disagrees with the event", result.Problem);
    }

    [Theory]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(16385)]
    [InlineData(Count - 1)]
    public async Task A_missing_event_is_found_at_its_seq_in_any_chunk(long seq)
    {
        var result = await VerifyAsync([.. Chain.Where(r => r.Seq != seq)]);

        Assert.Equal(seq, result.BrokenAtSeq);
        Assert.Equal(seq - 1, result.VerifiedCount);
    }

    [Theory]
    [InlineData("type", null)]
    [InlineData("principal", "alice")]
    [InlineData("mission", "m-1")]
    [InlineData("tool", null)]
    [InlineData("time_ms", null)]
    public async Task Each_queryable_column_is_checked(string column, string? value)
    {
        var rows = Chain.ToArray();
        var c = rows[9].Columns;
        rows[9] = rows[9] with
        {
            Columns = column switch
            {
                "type" => c with { Type = value },
                "principal" => c with { Principal = value },
                "mission" => c with { Mission = value },
                "tool" => c with { Tool = value },
                _ => c with { TimeMs = c.TimeMs + 1 },
            },
        };

        var result = await VerifyAsync(rows);

        Assert.Equal(10, result.BrokenAtSeq);
        Assert.Equal($"column {column} disagrees with the event", result.Problem);
    }

    [Fact]
    public async Task A_nodes_chain_whose_events_name_the_node_verifies()
    {
        var result = await VerifyAsync(Build(30, node: "node-a", namedFrom: 1));

        Assert.True(result.IsIntact, result.Problem);
        Assert.Equal(30, result.VerifiedCount);
    }

    [Fact]
    public async Task A_chain_moved_whole_to_another_node_is_found_at_its_first_event()
    {
        var rows = Build(30, node: "node-a", namedFrom: 1).Select(r => r with { Node = "node-b" }).ToArray();

        var result = await VerifyAsync(rows);

        Assert.Equal(1, result.BrokenAtSeq);
        Assert.Equal("column node disagrees with the event (recorded on another node)", result.Problem);
    }

    [Fact]
    public async Task An_event_naming_a_node_in_a_store_of_one_chain_is_found()
    {
        var rows = Build(30, node: "node-a", namedFrom: 1).Select(r => r with { Node = null }).ToArray();

        var result = await VerifyAsync(rows);

        Assert.Equal(1, result.BrokenAtSeq);
        Assert.Equal("column node disagrees with the event (recorded on another node)", result.Problem);
    }

    [Fact]
    public async Task Events_naming_no_node_verify_at_the_start_of_a_nodes_chain_as_copied_from_a_chain_of_one()
    {
        var result = await VerifyAsync(Build(30, node: "node-a", namedFrom: 11));

        Assert.True(result.IsIntact, result.Problem);
        Assert.Equal(30, result.VerifiedCount);
    }

    [Fact]
    public async Task An_event_naming_no_node_after_one_that_names_it_is_found_at_its_seq()
    {
        var rows = Build(30, node: "node-a", namedFrom: 1);
        var other = Build(30, node: null, namedFrom: 1);

        // Seq 20 names no node; the chain is relinked around it, so only the node rule can find it.
        var spliced = Rechain([.. rows.Take(19), .. other.Skip(19).Take(1), .. rows.Skip(20)], node: "node-a");

        var result = await VerifyAsync(spliced);

        Assert.Equal(20, result.BrokenAtSeq);
        Assert.Equal("event names no node after events that name theirs (moved from another chain)", result.Problem);
    }

    private static readonly SigningKey Key = SigningKey.Generate(Start, Start);

    [Fact]
    public async Task A_checkpoint_that_signs_the_event_before_it_is_verified_and_counted()
    {
        var rows = WithCheckpoint(10, at: 6, (covered, hash) => new AuditCheckpoint(null, covered, hash, Start).Sign(Key));

        var result = await VerifyAsync(rows);

        Assert.True(result.IsIntact, result.Problem);
        Assert.Equal(1, result.Checkpoints);
        Assert.Equal(6, result.LatestCheckpoint!.EventSeq);
        Assert.Equal(new AuditCheckpoint(null, 5, rows[4].Hash, Start), result.LatestCheckpoint.Checkpoint);
        Assert.Equal(Key.Kid, result.LatestCheckpoint.Kid);
    }

    [Fact]
    public async Task A_checkpoint_whose_signed_hash_is_not_the_chains_breaks_the_chain_at_the_checkpoint()
    {
        // As after a rewrite behind the checkpoint that recomputed every hash but could not re-sign.
        var signed = new string('c', 64);
        var rows = WithCheckpoint(10, at: 6, (covered, _) => new AuditCheckpoint(null, covered, signed, Start).Sign(Key));

        var result = await VerifyAsync(rows);

        Assert.Equal(6, result.BrokenAtSeq);
        Assert.Equal(5, result.VerifiedCount);
        Assert.Equal($"checkpoint signed seq 5 with hash {signed}, but the event before it is seq 5 with hash {rows[4].Hash} (events it covers were rewritten, removed or reordered)", result.Problem);
    }

    [Fact]
    public async Task A_checkpoint_of_another_seq_breaks_the_chain_at_the_checkpoint()
    {
        var rows = WithCheckpoint(10, at: 6, (_, hash) => new AuditCheckpoint(null, 4, hash, Start).Sign(Key));

        var result = await VerifyAsync(rows);

        Assert.Equal(6, result.BrokenAtSeq);
        Assert.StartsWith("checkpoint signed seq 4 with hash ", result.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_checkpoint_with_a_forged_signature_breaks_the_chain_at_the_checkpoint()
    {
        var rows = WithCheckpoint(10, at: 6, (covered, hash) =>
        {
            var real = new AuditCheckpoint(null, covered, hash, Start).Sign(Key).Split('.');
            var other = new AuditCheckpoint(null, covered, hash, Start.AddHours(1)).Sign(Key).Split('.');
            return $"{real[0]}.{other[1]}.{real[2]}";
        });

        var result = await VerifyAsync(rows);

        Assert.Equal(6, result.BrokenAtSeq);
        Assert.Equal($"checkpoint signature does not verify with key {Key.Kid} (forged or altered)", result.Problem);
    }

    [Fact]
    public async Task A_checkpoint_signed_for_another_nodes_chain_breaks_the_chain_at_the_checkpoint()
    {
        var rows = WithCheckpoint(10, at: 6, (covered, hash) => new AuditCheckpoint("node-b", covered, hash, Start).Sign(Key), node: "node-a");

        var result = await VerifyAsync(rows);

        Assert.Equal(6, result.BrokenAtSeq);
        Assert.Equal("checkpoint was signed for the chain of node node-b (moved from another chain)", result.Problem);
    }

    [Fact]
    public async Task A_checkpoint_event_without_its_checkpoint_breaks_the_chain_there()
    {
        var result = await VerifyAsync(WithCheckpoint(10, at: 6, (_, _) => null));

        Assert.Equal(6, result.BrokenAtSeq);
        Assert.Equal("checkpoint event carries no checkpoint", result.Problem);
    }

    /// <summary>A chain of <paramref name="count"/> events whose event <paramref name="at"/> is a checkpoint holding what <paramref name="jws"/> makes of the seq and hash before it.</summary>
    private static AuditRow[] WithCheckpoint(int count, long at, Func<long, string, string?> jws, string? node = null)
    {
        var rows = new AuditRow[count];
        var prev = AuditEvent.GenesisHash;
        for (var seq = 1; seq <= count; seq++)
        {
            var record = seq == at
                ? new AuditRecord { Type = AuditTypes.AuditCheckpoint, Outcome = AuditOutcomes.Allowed, Checkpoint = jws(seq - 1, prev) }
                : new AuditRecord { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = "support-agent", Jti = "jti-" + seq };
            var time = Start.AddSeconds(seq);
            var json = AuditEvent.Serialize(seq, time, record, prev, node);
            var hash = Convert.ToHexStringLower(SHA256.HashData(json));
            var e = new AuditEvent { Seq = seq, Time = time, Record = record, PrevHash = prev, Hash = hash, Json = json };
            rows[seq - 1] = new AuditRow(seq, json, hash, AuditColumns.Of(e), node);
            prev = hash;
        }

        return rows;
    }

    private static Task<AuditVerification> VerifyAsync(IReadOnlyList<AuditRow> rows) =>
        AuditVerifier.VerifyAsync(new RowAuditStore(rows), TestContext.Current.CancellationToken);

    /// <summary>A chain as the audit writer builds it, with the columns a store keeps; every tenth event has no principal or mission.</summary>
    private static AuditRow[] Build(int count) => Build(count, node: null, namedFrom: 1);

    /// <summary>
    /// A chain stored as <paramref name="node"/>'s, whose events from <paramref name="namedFrom"/> on
    /// name the node (the ones before as copied from a chain of one).
    /// </summary>
    private static AuditRow[] Build(int count, string? node, long namedFrom)
    {
        var rows = new AuditRow[count];
        var prev = AuditEvent.GenesisHash;
        for (var seq = 1; seq <= count; seq++)
        {
            var record = new AuditRecord
            {
                Type = AuditTypes.TokenIssued,
                Outcome = AuditOutcomes.Allowed,
                Agent = "support-agent",
                Principal = seq % 10 == 0 ? null : "alice",
                Mission = seq % 10 == 0 ? null : "m-" + (seq % 7),
                Tool = "crm",
                Jti = "jti-" + seq,
            };
            var time = Start.AddMilliseconds(seq * 1234.5);
            var json = AuditEvent.Serialize(seq, time, record, prev, seq >= namedFrom ? node : null);
            var hash = Convert.ToHexStringLower(SHA256.HashData(json));
            var e = new AuditEvent { Seq = seq, Time = time, Record = record, PrevHash = prev, Hash = hash, Json = json };
            rows[seq - 1] = new AuditRow(seq, json, hash, AuditColumns.Of(e), node);
            prev = hash;
        }

        return rows;
    }

    /// <summary>The events of <paramref name="rows"/>, node or not, rehashed into one correctly linked chain stored as <paramref name="node"/>'s.</summary>
    private static AuditRow[] Rechain(IReadOnlyList<AuditRow> rows, string node)
    {
        var chained = new AuditRow[rows.Count];
        var prev = AuditEvent.GenesisHash;
        for (var i = 0; i < rows.Count; i++)
        {
            var e = AuditEvent.Parse(rows[i].Json, rows[i].Hash);
            var json = AuditEvent.Serialize(e.Seq, e.Time, e.Record, prev, e.Node);
            var hash = Convert.ToHexStringLower(SHA256.HashData(json));
            chained[i] = new AuditRow(e.Seq, json, hash, rows[i].Columns, node);
            prev = hash;
        }

        return chained;
    }
}
