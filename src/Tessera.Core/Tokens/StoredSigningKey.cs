namespace Tessera.Core.Tokens;

/// <summary>A signing key as stored: the private key sealed under the master key with the kid as associated data.</summary>
public sealed record StoredSigningKey(string Kid, string Algorithm, byte[] SealedPrivateKey, DateTimeOffset CreatedAt, DateTimeOffset ActivatesAt);
