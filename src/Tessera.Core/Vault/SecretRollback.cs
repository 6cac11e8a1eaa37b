namespace Tessera.Core.Vault;

/// <summary>
/// A secret whose newest stored version is older than the newest version the audit log records
/// (or is itself marked retired): a newer version was removed from storage. The vault does not
/// inject it until it is rotated.
/// </summary>
public sealed record SecretRollback(string Name, int Stored, int Recorded);
