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

    private static Task<AuditVerification> VerifyAsync(IReadOnlyList<AuditRow> rows) =>
        AuditVerifier.VerifyAsync(new RowAuditStore(rows), TestContext.Current.CancellationToken);

    /// <summary>A chain as the audit writer builds it, with the columns a store keeps; every tenth event has no principal or mission.</summary>
    private static AuditRow[] Build(int count)
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
            var json = AuditEvent.Serialize(seq, time, record, prev);
            var hash = Convert.ToHexStringLower(SHA256.HashData(json));
            var e = new AuditEvent { Seq = seq, Time = time, Record = record, PrevHash = prev, Hash = hash, Json = json };
            rows[seq - 1] = new AuditRow(seq, json, hash, AuditColumns.Of(e));
            prev = hash;
        }

        return rows;
    }
}
