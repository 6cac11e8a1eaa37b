using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Audit;

/// <summary>
/// A checkpoint JWS as <see cref="AuditCheckpoint.Read"/> found it: the verified statement, the key id and
/// public key that verified it, or (<see cref="Problem"/> set, the rest null) why it was refused.
/// </summary>
/// <param name="Checkpoint">The signed statement.</param>
/// <param name="Kid">The signing key's id.</param>
/// <param name="Key">The public key that verified the signature, as a key set holds it.</param>
/// <param name="Problem">What is wrong with the JWS, worded to follow "checkpoint": "signature does not verify ...".</param>
public sealed record AuditCheckpointReading(AuditCheckpoint? Checkpoint, string? Kid, JsonWebKey? Key, string? Problem)
{
    public static AuditCheckpointReading Refused(string problem) => new(null, null, null, problem);
}
