using System.Buffers.Text;

namespace Tessera.Client;

/// <summary>Base64url without padding (RFC 7515 §2), as JOSE uses it.</summary>
internal static class Base64UrlText
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Base64Url.EncodeToString(bytes);
}
