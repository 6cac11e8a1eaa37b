namespace Tessera.Core.Audit;

/// <summary>
/// One checkpoint in an exported file: the JWS, which alone is verified, and its statement spelled
/// out for a reader (which must agree with the signed one, or the file was altered).
/// </summary>
/// <param name="EventSeq">The checkpoint event's own sequence number in the log.</param>
/// <param name="Jws">The compact JWS as the log recorded it.</param>
/// <param name="Checkpoint">The statement the JWS signs.</param>
/// <param name="Kid">The key that signed it.</param>
public sealed record ExportedCheckpoint(long EventSeq, string Jws, AuditCheckpoint Checkpoint, string Kid);
