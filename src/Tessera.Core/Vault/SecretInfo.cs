namespace Tessera.Core.Vault;

/// <summary>What may be known about a secret: metadata only. There is no way to read a value back.</summary>
public sealed record SecretInfo(
    string Name,
    int Version,
    DateTimeOffset CreatedAt,
    string KeyId,
    IReadOnlyList<RetiredSecretVersion> Retired,
    IReadOnlyList<string> UsedBy,
    TimeSpan? RotateEvery)
{
    public TimeSpan AgeAt(DateTimeOffset now) => now - CreatedAt;

    /// <summary>True when a tool that uses this secret asks for rotation more often than it happened.</summary>
    public bool IsOverdueAt(DateTimeOffset now) => RotateEvery is { } every && AgeAt(now) > every;
}

public sealed record RetiredSecretVersion(int Version, DateTimeOffset RetiredAt, DateTimeOffset DestroyAfter);
