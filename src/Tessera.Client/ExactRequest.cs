using System.Security.Cryptography;
using System.Text;

namespace Tessera.Client;

/// <summary>The hashes an exact-request approval binds, computed as Tessera's proxy computes them.</summary>
public static class ExactRequest
{
    /// <summary>The <c>body_sha256</c> of a <c>tessera_request</c>: the SHA-256 of the body's bytes exactly as sent, in lower-case hex (no body: the hash of no bytes).</summary>
    /// <param name="body">The request body.</param>
    public static string BodySha256(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>The <c>body_sha256</c> of a text body sent as UTF-8 (as <see cref="StringContent"/> and <c>JsonContent</c> send it).</summary>
    /// <param name="body">The request body.</param>
    public static string BodySha256(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return BodySha256(Encoding.UTF8.GetBytes(body));
    }
}
