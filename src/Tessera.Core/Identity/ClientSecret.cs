namespace Tessera.Core.Identity;

/// <summary>One of an agent's client secrets: its SHA-256 and when it stops working (null: until removed).</summary>
public sealed class ClientSecret(byte[] sha256, DateTimeOffset? expires)
{
    /// <summary>SHA-256 of the secret; never leaves Core (no API or log shows it).</summary>
    internal byte[] Sha256 { get; } = sha256;

    public DateTimeOffset? Expires { get; } = expires;

    /// <summary>Like an agent's registration, a secret stops working at its expiry instant.</summary>
    public bool IsExpiredAt(DateTimeOffset now) => Expires is { } at && now >= at;
}
