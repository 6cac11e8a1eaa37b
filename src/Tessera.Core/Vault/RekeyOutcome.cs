namespace Tessera.Core.Vault;

/// <summary>A finished rekey: the new key-encryption key, how many data keys moved under it, and the keys removed.</summary>
public sealed record RekeyOutcome(string KeyId, int Rewrapped, IReadOnlyList<string> RemovedKeyIds);
