using System.Text.Json;
using Tessera.Core.Storage;

namespace Tessera.Core.Audit;

/// <summary>
/// Verifies exported checkpoints (<see cref="AuditCheckpointFile"/>) against the log, after the log's
/// own chains were verified: each checkpoint's signature with the key kept in the file (whose
/// thumbprint must be the kid), the file's spelled-out statement against the signed one, then that the
/// chain still reaches the signed sequence number (or it was truncated) and has the signed hash there
/// (or the events up to it were rewritten, whatever hashes were recomputed after), and last that the
/// key is this Tessera's: one it holds, or the key of the very checkpoint the log recorded after the
/// signed event (a key that has retired since). Each check names what it found, in stable words.
/// </summary>
public static class AuditCheckpointVerifier
{
    public static async Task<IReadOnlyList<CheckpointVerdict>> VerifyAsync(AuditCheckpointFile file, IAuditStore store, IReadOnlyList<ChainVerification> chains,
        IReadOnlySet<string> heldKids, CancellationToken cancellationToken)
    {
        var verdicts = new List<CheckpointVerdict>(file.Checkpoints.Count);
        foreach (var exported in file.Checkpoints)
        {
            verdicts.Add(await VerifyOneAsync(file, exported, store, chains, heldKids, cancellationToken));
        }

        return verdicts;
    }

    private static async Task<CheckpointVerdict> VerifyOneAsync(AuditCheckpointFile file, ExportedCheckpoint exported, IAuditStore store,
        IReadOnlyList<ChainVerification> chains, IReadOnlySet<string> heldKids, CancellationToken cancellationToken)
    {
        var label = Label(exported.Checkpoint);
        CheckpointVerdict Fail(string problem) => new(exported, false, $"{label}: {problem}");

        if (file.Keys.FirstOrDefault(k => string.Equals(k.Kid, exported.Kid, StringComparison.Ordinal)) is not { } key)
        {
            return Fail($"the file holds no public key {exported.Kid}");
        }

        var reading = AuditCheckpoint.Read(exported.Jws, key);
        if (reading.Problem is { } refused)
        {
            return Fail($"checkpoint {refused}");
        }

        var signed = reading.Checkpoint!;
        if (signed != exported.Checkpoint)
        {
            return Fail("the file's node, seq, hash or time disagree with what the checkpoint signs (the file was altered)");
        }

        var seq = signed.Seq;
        if (chains.FirstOrDefault(c => string.Equals(c.Node, signed.Node, StringComparison.Ordinal)) is not { } chain)
        {
            return Fail($"the log holds no chain of node {signed.Node}: it was removed");
        }

        if (chain.Result.IsIntact && chain.Result.VerifiedCount < seq)
        {
            return Fail($"the log ends at seq {chain.Result.VerifiedCount}, before the checkpoint's seq {seq}: it was truncated behind the checkpoint");
        }

        var (at, after) = await ReadTwoAsync(store, signed.Node, seq, cancellationToken);
        if (at is null || at.Seq != seq)
        {
            return Fail($"the log has no event at seq {seq}: it was truncated behind the checkpoint");
        }

        if (!string.Equals(at.Hash, signed.HeadHash, StringComparison.Ordinal))
        {
            return Fail($"the log's event at seq {seq} has hash {at.Hash}, the checkpoint signed {signed.HeadHash}: the log was rewritten at or before seq {seq}");
        }

        var holds = $"{label} holds: the log has the signed hash at seq {seq}; signed at {AuditEvent.FormatTime(signed.Time)} with key {exported.Kid}";
        if (heldKids.Contains(exported.Kid))
        {
            return new CheckpointVerdict(exported, true, $"{holds}, which Tessera holds");
        }

        return RecordsCheckpoint(after, seq + 1, exported.Jws)
            ? new CheckpointVerdict(exported, true, $"{holds}, since retired; the log records this checkpoint at seq {seq + 1}")
            : Fail($"signed with key {exported.Kid}, which this Tessera does not hold and did not record this checkpoint with: not a checkpoint of this log");
    }

    private static string Label(AuditCheckpoint c) => c.Node is { } node ? $"checkpoint of node {node} seq {c.Seq}" : $"checkpoint of seq {c.Seq}";

    /// <summary>The stored rows at <paramref name="seq"/> and after it, where present.</summary>
    private static async Task<(AuditRow? At, AuditRow? After)> ReadTwoAsync(IAuditStore store, string? node, long seq, CancellationToken cancellationToken)
    {
        var rows = node is not null && store.Node is not null ? store.ReadRowsAsync(node, seq, cancellationToken) : store.ReadRowsAsync(seq, cancellationToken);
        AuditRow? at = null;
        await foreach (var row in rows.WithCancellation(cancellationToken))
        {
            if (at is not null)
            {
                return (at, row);
            }

            at = row;
        }

        return (at, null);
    }

    /// <summary>Whether <paramref name="row"/> is the checkpoint event at <paramref name="seq"/> holding exactly <paramref name="jws"/>.</summary>
    private static bool RecordsCheckpoint(AuditRow? row, long seq, string jws)
    {
        if (row is null || row.Seq != seq || !string.Equals(row.Columns.Type, AuditTypes.AuditCheckpoint, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(row.Json);
            return doc.RootElement.TryGetProperty("checkpoint", out var recorded) && recorded.ValueKind == JsonValueKind.String && recorded.ValueEquals(jws);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
