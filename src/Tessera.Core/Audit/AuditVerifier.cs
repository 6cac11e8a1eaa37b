using System.Security.Cryptography;
using System.Text.Json;
using Tessera.Core.Storage;

namespace Tessera.Core.Audit;

/// <summary>
/// Verifies the stored chain offline: sequence numbers without gaps from 1, each event's JSON
/// hashing to its hash, and each <c>prev_hash</c> naming the previous event's hash. Reports the
/// first sequence number at which the log stops being what was written.
/// </summary>
public static class AuditVerifier
{
    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, CancellationToken cancellationToken)
    {
        var expectedSeq = 1L;
        var prevHash = AuditEvent.GenesisHash;
        await foreach (var row in store.ReadRowsAsync(1, cancellationToken))
        {
            if (row.Seq != expectedSeq)
            {
                return row.Seq > expectedSeq
                    ? AuditVerification.Broken(expectedSeq, $"event missing (next stored event is seq {row.Seq})", expectedSeq - 1)
                    : AuditVerification.Broken(row.Seq, "sequence number out of order", expectedSeq - 1);
            }

            var actual = Convert.ToHexStringLower(SHA256.HashData(row.Json));
            if (!string.Equals(actual, row.Hash, StringComparison.Ordinal))
            {
                return AuditVerification.Broken(row.Seq, "event content does not match its hash (modified)", expectedSeq - 1);
            }

            long seqInJson;
            string? prevInJson;
            try
            {
                (seqInJson, prevInJson) = ReadLink(row.Json);
            }
            catch (JsonException)
            {
                return AuditVerification.Broken(row.Seq, "event is not valid JSON", expectedSeq - 1);
            }

            if (seqInJson != row.Seq)
            {
                return AuditVerification.Broken(row.Seq, $"event was recorded as seq {seqInJson} (moved or reordered)", expectedSeq - 1);
            }

            if (!string.Equals(prevInJson, prevHash, StringComparison.Ordinal))
            {
                return AuditVerification.Broken(row.Seq, "prev_hash does not match the previous event (an earlier event was replaced, removed or reordered)", expectedSeq - 1);
            }

            prevHash = row.Hash;
            expectedSeq++;
        }

        return AuditVerification.Intact(expectedSeq - 1, prevHash);
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
