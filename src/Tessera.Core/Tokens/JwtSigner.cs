using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tessera.Core.Tokens;

/// <summary>
/// Writes and signs our access tokens (JWS compact, ES256, <c>typ: at+jwt</c>). Written by hand
/// because issuance is the hot path: one payload serialisation and one signature, no claim
/// dictionaries. Everything that reads tokens — ours and foreign — uses Microsoft.IdentityModel,
/// and tests check that an independent validator accepts what this writes.
/// </summary>
public static class JwtSigner
{
    /// <summary>Claim values are written as they are (no \u escapes for '+' or non-ASCII); JSON stays valid.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Sign(SigningKey key, AccessTokenClaims claims)
    {
        var header = EncodedHeader(key.Kid);
        var payload = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(payload, WriterOptions))
        {
            claims.WriteJson(w);
        }

        var payloadLength = Base64Url.GetEncodedLength(payload.WrittenCount);
        var signingInput = new byte[header.Length + 1 + payloadLength];
        header.CopyTo(signingInput, 0);
        signingInput[header.Length] = (byte)'.';
        Base64Url.EncodeToUtf8(payload.WrittenSpan, signingInput.AsSpan(header.Length + 1));

        Span<byte> signature = stackalloc byte[64];
        if (!key.Ecdsa.TrySignData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out var written) || written != 64)
        {
            throw new CryptographicException("ES256 signing failed");
        }

        var result = new StringBuilder(signingInput.Length + 1 + 86);
        result.Append(Encoding.ASCII.GetString(signingInput));
        result.Append('.');
        result.Append(Base64Url.EncodeToString(signature[..written]));
        return result.ToString();
    }

    private static byte[] EncodedHeader(string kid)
    {
        var header = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(header, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("alg", "ES256");
            w.WriteString("kid", kid);
            w.WriteString("typ", "at+jwt");
            w.WriteEndObject();
        }

        return Encoding.ASCII.GetBytes(Base64Url.EncodeToString(header.WrittenSpan));
    }
}
