namespace Tessera.Client;

/// <summary>
/// The cache entry of one <see cref="TokenKey"/>: the current token, and the one request in flight
/// that every concurrent caller awaits.
/// </summary>
internal sealed class TokenSlot
{
    public readonly Lock Gate = new();

    /// <summary>The latest token; read without the lock (a reference read is atomic).</summary>
    public volatile TesseraToken? Token;

    /// <summary>The request in flight, or null.</summary>
    public Task<TesseraToken>? Pending;
}
