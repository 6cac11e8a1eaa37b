namespace Tessera.Core.Proxy;

/// <summary>A request body's SHA-256, or the status the server refused reading it with (413, 400).</summary>
public readonly record struct BodyDigest(byte[]? Sha256, int RefusedStatus)
{
    public static BodyDigest Of(byte[] sha256) => new(sha256, 0);

    public static BodyDigest Refused(int status) => new(null, status);
}
