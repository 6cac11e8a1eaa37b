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

    /// <summary>Length of a Base64url ES256 signature (64 bytes, no padding).</summary>
    private const int EncodedSignatureLength = 86;

    /// <summary>Per thread, so signing needs no lock; reused because a writer and buffer per token showed in profiles.</summary>
    [ThreadStatic]
    private static PayloadWriter? t_payload;

    public static string Sign(SigningKey key, AccessTokenClaims claims)
    {
        var header = key.EncodedJwtHeader;
        var payload = t_payload ??= new PayloadWriter();
        var payloadJson = payload.Write(claims);

        // The token is built in one buffer: header.payload, signed in place, then .signature.
        var signingLength = header.Length + 1 + Base64Url.GetEncodedLength(payloadJson.Length);
        var token = new byte[signingLength + 1 + EncodedSignatureLength];
        header.CopyTo(token, 0);
        token[header.Length] = (byte)'.';
        Base64Url.EncodeToUtf8(payloadJson, token.AsSpan(header.Length + 1));

        Span<byte> signature = stackalloc byte[64];
        if (!key.Ecdsa.TrySignData(token.AsSpan(0, signingLength), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation, out var written) || written != 64)
        {
            throw new CryptographicException("ES256 signing failed");
        }

        token[signingLength] = (byte)'.';
        Base64Url.EncodeToUtf8(signature, token.AsSpan(signingLength + 1));
        return Encoding.ASCII.GetString(token);
    }

    /// <summary>The Base64url JOSE header for <paramref name="kid"/>; computed once per key.</summary>
    internal static byte[] EncodedHeader(string kid)
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

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A Utf8JsonWriter over an ArrayBufferWriter holds no unmanaged resource; it lives as long as its thread.")]
    private sealed class PayloadWriter
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(512);
        private readonly Utf8JsonWriter _writer;

        public PayloadWriter() => _writer = new Utf8JsonWriter(_buffer, WriterOptions);

        public ReadOnlySpan<byte> Write(AccessTokenClaims claims)
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            claims.WriteJson(_writer);
            _writer.Flush();
            return _buffer.WrittenSpan;
        }
    }
}
