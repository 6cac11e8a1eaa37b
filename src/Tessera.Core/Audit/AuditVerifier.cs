using System.Security.Cryptography;
using System.Text.Json;
using Tessera.Core.Storage;

namespace Tessera.Core.Audit;

/// <summary>
/// Verifies the stored chain offline: sequence numbers without gaps from 1, each event's JSON
/// hashing to its hash, each <c>prev_hash</c> naming the previous event's hash, and each queryable
/// column (<see cref="AuditColumns"/>) agreeing with the hashed JSON, so that no event can be hidden
/// from a filtered query. Reports the first sequence number at which the log stops being what was
/// written. On a store of one chain per node each event also names its node, and the name must be
/// the row's node column, so that an event (or a whole chain) moved to another node's chain is
/// found; only events at the start of a chain may name no node (copied from a log of one chain,
/// which names none). Every checkpoint event's signature must verify, and its statement must name
/// the event before it (seq and hash) and the chain's node: a chain rewritten and re-hashed behind a
/// checkpoint is found at the checkpoint (<see cref="AuditCheckpoint"/>). Rows are read in chunks;
/// the per-row work (hashing, one pass over the JSON for the link and the columns, a checkpoint's
/// signature) runs on every core while the next chunk is read, the chain walk stays sequential.
/// </summary>
public static class AuditVerifier
{
    private const int ChunkSize = 8192;

    /// <summary>Verifies the chain the store appends to (on a store of one chain per node, this node's).</summary>
    public static Task<AuditVerification> VerifyAsync(IAuditStore store, CancellationToken cancellationToken) =>
        VerifyRowsAsync(store.ReadRowsAsync(1, cancellationToken), cancellationToken);

    /// <summary>
    /// Verifies every chain in the store, each on its own: the one chain of a store of one chain (node
    /// null), or every node's chain in node order.
    /// </summary>
    public static async Task<IReadOnlyList<ChainVerification>> VerifyAllAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        if (store.Node is null)
        {
            return [new ChainVerification(null, await VerifyAsync(store, cancellationToken))];
        }

        var results = new List<ChainVerification>();
        foreach (var node in await store.ListNodesAsync(cancellationToken))
        {
            results.Add(new ChainVerification(node, await VerifyRowsAsync(store.ReadRowsAsync(node, 1, cancellationToken), cancellationToken)));
        }

        return results;
    }

    /// <summary>Verifies one chain's rows, read in sequence order from its start.</summary>
    public static async Task<AuditVerification> VerifyRowsAsync(IAsyncEnumerable<AuditRow> chain, CancellationToken cancellationToken)
    {
        var expectedSeq = 1L;
        var prevHash = AuditEvent.GenesisHash;
        var nodeNamed = false;
        var tally = new CheckpointTally();

        // Two chunks in turn: one is checked on the other cores while the next is read, so reading
        // (sequential) and checking overlap. Walking a checked chunk is cheap and stays in order.
        var reading = new List<AuditRow>(ChunkSize);
        var readingChecks = new RowCheck[ChunkSize];
        var checkedRows = new List<AuditRow>(ChunkSize);
        var checks = new RowCheck[ChunkSize];
        var checking = Task.CompletedTask;
        await foreach (var row in chain.WithCancellation(cancellationToken))
        {
            reading.Add(row);
            if (reading.Count == ChunkSize)
            {
                await checking;
                var broken = Walk(checkedRows, checks, ref expectedSeq, ref prevHash, ref nodeNamed, tally);
                if (broken is not null)
                {
                    return broken;
                }

                (reading, checkedRows) = (checkedRows, reading);
                (readingChecks, checks) = (checks, readingChecks);
                reading.Clear();
                var (rows, into) = (checkedRows, checks);
                checking = Task.Run(() => CheckAll(rows, into), cancellationToken);
            }
        }

        await checking;
        var last = Walk(checkedRows, checks, ref expectedSeq, ref prevHash, ref nodeNamed, tally);
        if (last is not null)
        {
            return last;
        }

        CheckAll(reading, readingChecks);
        return Walk(reading, readingChecks, ref expectedSeq, ref prevHash, ref nodeNamed, tally) ?? AuditVerification.Intact(expectedSeq - 1, prevHash) with { Checkpoints = tally.Count, LatestCheckpoint = tally.Latest };
    }

    private static void CheckAll(List<AuditRow> rows, RowCheck[] checks) => Parallel.For(0, rows.Count, i => checks[i] = Check(rows[i]));

    private static AuditVerification? Walk(List<AuditRow> chunk, RowCheck[] checks, ref long expectedSeq, ref string prevHash, ref bool nodeNamed, CheckpointTally tally)
    {
        for (var i = 0; i < chunk.Count; i++)
        {
            var row = chunk[i];
            var check = checks[i];
            if (row.Seq != expectedSeq)
            {
                return row.Seq > expectedSeq
                    ? AuditVerification.Broken(expectedSeq, $"event missing (next stored event is seq {row.Seq})", expectedSeq - 1)
                    : AuditVerification.Broken(row.Seq, "sequence number out of order", expectedSeq - 1);
            }

            if (!check.HashMatches)
            {
                return AuditVerification.Broken(row.Seq, "event content does not match its hash (modified)", expectedSeq - 1);
            }

            if (check.SeqInJson is null)
            {
                return AuditVerification.Broken(row.Seq, "event is not valid JSON", expectedSeq - 1);
            }

            if (check.SeqInJson != row.Seq)
            {
                return AuditVerification.Broken(row.Seq, $"event was recorded as seq {check.SeqInJson} (moved or reordered)", expectedSeq - 1);
            }

            if (!string.Equals(check.PrevHash, prevHash, StringComparison.Ordinal))
            {
                return AuditVerification.Broken(row.Seq, "prev_hash does not match the previous event (an earlier event was replaced, removed or reordered)", expectedSeq - 1);
            }

            if (check.DisagreeingColumn is { } column)
            {
                return AuditVerification.Broken(row.Seq, $"column {column} disagrees with the event", expectedSeq - 1);
            }

            switch (check.Node)
            {
                case NodeMember.Agrees:
                    nodeNamed = true;
                    break;
                case NodeMember.Disagrees:
                    return AuditVerification.Broken(row.Seq, "column node disagrees with the event (recorded on another node)", expectedSeq - 1);
                case NodeMember.Absent when row.Node is not null && nodeNamed:
                    return AuditVerification.Broken(row.Seq, "event names no node after events that name theirs (moved from another chain)", expectedSeq - 1);
            }

            if (check.Checkpoint is { } checkpoint && CheckpointProblem(row, checkpoint, check.Node == NodeMember.Agrees ? row.Node : null, prevHash, tally) is { } problem)
            {
                return AuditVerification.Broken(row.Seq, problem, expectedSeq - 1);
            }

            prevHash = row.Hash;
            expectedSeq++;
        }

        return null;
    }

    /// <summary>
    /// What is wrong with a checkpoint event, or null (then it is counted): its signature, or a statement
    /// that is not of the event before it in this chain. <paramref name="node"/> is the node the event
    /// names (none on a single chain, and on events copied from one).
    /// </summary>
    private static string? CheckpointProblem(AuditRow row, CheckpointCheck checkpoint, string? node, string prevHash, CheckpointTally tally)
    {
        if (checkpoint.Jws is null)
        {
            return "checkpoint event carries no checkpoint";
        }

        var reading = checkpoint.Reading!;
        if (reading.Problem is { } refused)
        {
            return $"checkpoint {refused}";
        }

        var statement = reading.Checkpoint!;
        if (statement.Seq != row.Seq - 1 || !string.Equals(statement.HeadHash, prevHash, StringComparison.Ordinal))
        {
            return $"checkpoint signed seq {statement.Seq} with hash {statement.HeadHash}, but the event before it is seq {row.Seq - 1} with hash {prevHash} (events it covers were rewritten, removed or reordered)";
        }

        if (!string.Equals(statement.Node, node, StringComparison.Ordinal))
        {
            return $"checkpoint was signed for the chain of node {statement.Node ?? "(none)"} (moved from another chain)";
        }

        tally.Count++;
        tally.Latest = new RecordedCheckpoint(row.Seq, checkpoint.Jws, statement, reading.Kid!, reading.Key!);
        return null;
    }

    private static RowCheck Check(AuditRow row)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(row.Json, hash);
        Span<char> hex = stackalloc char[SHA256.HashSizeInBytes * 2];
        Convert.TryToHexStringLower(hash, hex, out _);
        var matches = hex.SequenceEqual(row.Hash);
        try
        {
            var check = Read(row.Json, row.Columns, row.Node, matches);

            // Rare (one event in every_events), so read once more for the member and verify its signature here, on every core.
            return string.Equals(row.Columns.Type, AuditTypes.AuditCheckpoint, StringComparison.Ordinal)
                ? check with { Checkpoint = ReadCheckpoint(row.Json) }
                : check;
        }
        catch (JsonException)
        {
            return new RowCheck(matches, null, null, null, NodeMember.Absent);
        }
    }

    /// <summary>
    /// One pass over the event's top-level members: its link (<c>seq</c>, <c>prev_hash</c>) and the
    /// first queryable column that disagrees with it (a member the event lacks must be a null column).
    /// </summary>
    private static RowCheck Read(byte[] json, AuditColumns columns, string? nodeColumn, bool hashMatches)
    {
        var reader = new Utf8JsonReader(json);
        long seq = -1;
        string? prev = null;
        var node = NodeMember.Absent;
        Seen seen = default;
        Seen disagrees = default;
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }

            if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                seq = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : -1;
            }
            else if (reader.ValueTextEquals("prev_hash"u8))
            {
                reader.Read();
                prev = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("node"u8))
            {
                // Compared in place, and a node named twice must agree both times.
                reader.Read();
                node = node != NodeMember.Disagrees && TextEquals(ref reader, nodeColumn) ? NodeMember.Agrees : NodeMember.Disagrees;
            }
            else if (reader.ValueTextEquals("time"u8))
            {
                reader.Read();
                Note(ref seen, ref disagrees, Seen.Time, TimeEquals(ref reader, columns.TimeMs));
            }
            else
            {
                var (member, value) = TextColumn(ref reader, columns);
                if (member != 0)
                {
                    reader.Read();
                    Note(ref seen, ref disagrees, member, TextEquals(ref reader, value));
                }
            }
        }

        // A member the event lacks agrees only with a null column; every event has a time and a type.
        disagrees |= ~seen & (Seen.Time | Seen.Type | (columns.Agent is null ? 0 : Seen.Agent) | (columns.Principal is null ? 0 : Seen.Principal)
            | (columns.Mission is null ? 0 : Seen.Mission) | (columns.Tool is null ? 0 : Seen.Tool));
        var column = disagrees.HasFlag(Seen.Time) ? "time_ms"
            : disagrees.HasFlag(Seen.Type) ? "type"
            : disagrees.HasFlag(Seen.Agent) ? "agent"
            : disagrees.HasFlag(Seen.Principal) ? "principal"
            : disagrees.HasFlag(Seen.Mission) ? "mission"
            : disagrees.HasFlag(Seen.Tool) ? "tool"
            : null;
        return new RowCheck(hashMatches, seq, prev, column, node);
    }

    private static CheckpointCheck ReadCheckpoint(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.TryGetProperty("checkpoint", out var jws) && jws.ValueKind == JsonValueKind.String && jws.GetString() is { } text
            ? new CheckpointCheck(text, AuditCheckpoint.Read(text))
            : new CheckpointCheck(null, null);
    }

    /// <summary>Records that the event has <paramref name="member"/>; one that appears twice must agree both times.</summary>
    private static void Note(ref Seen seen, ref Seen disagrees, Seen member, bool equal)
    {
        seen |= member;
        disagrees |= equal ? 0 : member;
    }

    /// <summary>The text column that the member name under the reader stands for, and the row's value of it; none for any other member.</summary>
    private static (Seen Member, string? Column) TextColumn(ref Utf8JsonReader reader, AuditColumns columns) =>
        reader.ValueTextEquals("type"u8) ? (Seen.Type, columns.Type)
        : reader.ValueTextEquals("agent"u8) ? (Seen.Agent, columns.Agent)
        : reader.ValueTextEquals("principal"u8) ? (Seen.Principal, columns.Principal)
        : reader.ValueTextEquals("mission"u8) ? (Seen.Mission, columns.Mission)
        : reader.ValueTextEquals("tool"u8) ? (Seen.Tool, columns.Tool)
        : default;

    private static bool TextEquals(ref Utf8JsonReader reader, string? column) =>
        column is not null && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(column);

    /// <summary>The column's milliseconds written as the event writes its time, compared byte for byte: no parsing.</summary>
    private static bool TimeEquals(ref Utf8JsonReader reader, long? columnMs)
    {
        if (columnMs is not { } ms || reader.TokenType != JsonTokenType.String
            || ms < DateTimeOffset.MinValue.ToUnixTimeMilliseconds() || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            return false;
        }

        Span<byte> formatted = stackalloc byte[AuditEvent.TimeLength];
        AuditEvent.FormatTime(DateTimeOffset.FromUnixTimeMilliseconds(ms), formatted);
        return reader.ValueTextEquals(formatted);
    }

    /// <summary>The queryable members, in the order a disagreement is reported.</summary>
    [Flags]
    private enum Seen
    {
        Time = 1,
        Type = 2,
        Agent = 4,
        Principal = 8,
        Mission = 16,
        Tool = 32,
    }

    /// <summary>What the event says of its node, next to the row's node column.</summary>
    private enum NodeMember
    {
        Absent,
        Agrees,
        Disagrees,
    }

    private readonly record struct RowCheck(bool HashMatches, long? SeqInJson, string? PrevHash, string? DisagreeingColumn, NodeMember Node)
    {
        /// <summary>Set on checkpoint events only.</summary>
        public CheckpointCheck? Checkpoint { get; init; }
    }

    /// <summary>A checkpoint event's JWS (null when it has none) and how it read.</summary>
    private sealed record CheckpointCheck(string? Jws, AuditCheckpointReading? Reading);

    /// <summary>The checkpoints of the chain so far: the walk is sequential, so a plain class.</summary>
    private sealed class CheckpointTally
    {
        public int Count { get; set; }

        public RecordedCheckpoint? Latest { get; set; }
    }
}

/// <summary>The result of verifying the chain.</summary>
/// <param name="IsIntact">True when every stored event verified.</param>
/// <param name="BrokenAtSeq">The first bad sequence number, when broken.</param>
/// <param name="Problem">What is wrong at <paramref name="BrokenAtSeq"/>.</param>
/// <param name="VerifiedCount">How many events verified before the break (or in all).</param>
/// <param name="HeadHash">The last verified hash: compare it with a copy kept elsewhere to detect truncation.</param>
public sealed record AuditVerification(bool IsIntact, long? BrokenAtSeq, string? Problem, long VerifiedCount, string? HeadHash)
{
    /// <summary>How many checkpoint events verified (their signatures and what they sign).</summary>
    public int Checkpoints { get; init; }

    /// <summary>The last checkpoint event of an intact chain, for export; null when it has none.</summary>
    public RecordedCheckpoint? LatestCheckpoint { get; init; }

    public static AuditVerification Intact(long count, string headHash) => new(true, null, null, count, headHash);

    public static AuditVerification Broken(long seq, string problem, long verified) => new(false, seq, problem, verified, null);
}
