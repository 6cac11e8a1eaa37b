using System.Security.Cryptography;
using System.Text.Json;
using Tessera.Core.Storage;

namespace Tessera.Core.Audit;

/// <summary>
/// Verifies the stored chain offline: sequence numbers without gaps from 1, each event's JSON
/// hashing to its hash, and each <c>prev_hash</c> naming the previous event's hash. Reports the
/// first sequence number at which the log stops being what was written. Rows are read in chunks;
/// the per-row work (hashing, reading the link) runs on every core, the chain walk stays sequential.
/// </summary>
public static class AuditVerifier
{
    private const int ChunkSize = 8192;

    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        var expectedSeq = 1L;
        var prevHash = AuditEvent.GenesisHash;
        var chunk = new List<AuditRow>(ChunkSize);
        var checks = new RowCheck[ChunkSize];
        await foreach (var row in store.ReadRowsAsync(1, cancellationToken))
        {
            chunk.Add(row);
            if (chunk.Count == ChunkSize)
            {
                var broken = Walk(chunk, checks, ref expectedSeq, ref prevHash);
                if (broken is not null)
                {
                    return broken;
                }

                chunk.Clear();
            }
        }

        return Walk(chunk, checks, ref expectedSeq, ref prevHash) ?? AuditVerification.Intact(expectedSeq - 1, prevHash);
    }

    private static AuditVerification? Walk(List<AuditRow> chunk, RowCheck[] checks, ref long expectedSeq, ref string prevHash)
    {
        Parallel.For(0, chunk.Count, i => checks[i] = Check(chunk[i]));
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

            prevHash = row.Hash;
            expectedSeq++;
        }

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
            var (seq, prev) = ReadLink(row.Json);
            return new RowCheck(matches, seq, prev);
        }
        catch (JsonException)
        {
            return new RowCheck(matches, null, null);
        }
    }

    private static (long Seq, string? PrevHash) ReadLink(byte[] json)
    {
        var reader = new Utf8JsonReader(json);
        long seq = -1;
        string? prev = null;
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
        }

        return (seq, prev);
    }

    private readonly record struct RowCheck(bool HashMatches, long? SeqInJson, string? PrevHash);
}

/// <summary>The result of verifying the chain.</summary>
/// <param name="IsIntact">True when every stored event verified.</param>
/// <param name="BrokenAtSeq">The first bad sequence number, when broken.</param>
/// <param name="Problem">What is wrong at <paramref name="BrokenAtSeq"/>.</param>
/// <param name="VerifiedCount">How many events verified before the break (or in all).</param>
/// <param name="HeadHash">The last verified hash: compare it with a copy kept elsewhere to detect truncation.</param>
public sealed record AuditVerification(bool IsIntact, long? BrokenAtSeq, string? Problem, long VerifiedCount, string? HeadHash)
{
    public static AuditVerification Intact(long count, string headHash) => new(true, null, null, count, headHash);

    public static AuditVerification Broken(long seq, string problem, long verified) => new(false, seq, problem, verified, null);
}
