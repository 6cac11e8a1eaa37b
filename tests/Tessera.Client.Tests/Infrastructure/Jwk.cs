using System.Buffers.Text;

namespace Tessera.Client.Tests.Infrastructure;

/// <summary>RFC 7638 thumbprints, computed independently of the code under test.</summary>
public static class Jwk
{
    public static string Thumbprint(ECDsa key)
    {
        var q = key.ExportParameters(false).Q;
        var canonical = $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{Base64Url.EncodeToString(q.X)}\",\"y\":\"{Base64Url.EncodeToString(q.Y)}\"}}";
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }
}
