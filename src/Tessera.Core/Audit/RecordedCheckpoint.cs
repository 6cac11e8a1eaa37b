using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Audit;

/// <summary>A checkpoint event of a verified chain: where it is, its JWS as recorded, and what it verified as.</summary>
/// <param name="EventSeq">The checkpoint event's own sequence number (the statement covers the one before).</param>
/// <param name="Jws">The compact JWS as the event holds it.</param>
/// <param name="Checkpoint">The signed statement.</param>
/// <param name="Kid">The key that signed it.</param>
/// <param name="Key">That key's public JWK.</param>
public sealed record RecordedCheckpoint(long EventSeq, string Jws, AuditCheckpoint Checkpoint, string Kid, JsonWebKey Key);
