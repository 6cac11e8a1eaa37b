using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Tokens;

namespace Tessera.Core.Audit;

/// <summary>
/// A signed statement that a chain had <see cref="HeadHash"/> at <see cref="Seq"/> at <see cref="Time"/>,
/// as Certificate Transparency's signed tree heads do for a log: whoever keeps a copy can later prove
/// that the chain was cut short behind it (the chain no longer reaches <see cref="Seq"/>) or rewritten
/// behind it (its hash at <see cref="Seq"/> differs), even against someone who can rewrite the whole
/// database and recompute every hash. It is a compact JWS signed with the signing key of the moment
/// (ES256, <c>kid</c> in the header, so it verifies against the published JWKS); its header also
/// carries the public key (<c>jwk</c>), so a checkpoint still verifies after its key has retired. That
/// key is trusted only as far as its thumbprint is the <c>kid</c> of a key Tessera holds or recorded.
/// </summary>
/// <param name="Node">The chain's node on a store of one chain per node; null on a store of one chain.</param>
/// <param name="Seq">The last event the checkpoint covers (the checkpoint event itself is the next one).</param>
/// <param name="HeadHash">That event's hash.</param>
/// <param name="Time">When the checkpoint was cut.</param>
public sealed record AuditCheckpoint(string? Node, long Seq, string HeadHash, DateTimeOffset Time)
{
    /// <summary>
    /// The JOSE <c>typ</c>: never <c>at+jwt</c>, so a checkpoint signed by the token key can never pass
    /// as an access token (validators require <c>at+jwt</c>), and no token passes as a checkpoint.
    /// </summary>
    public const string JoseType = "tessera-audit-checkpoint+jwt";

    /// <summary>Longer input is refused unread: a checkpoint is a few hundred bytes.</summary>
    private const int MaxLength = 4096;

    /// <summary>The compact JWS of this statement, signed by <paramref name="key"/>.</summary>
    public string Sign(SigningKey key)
    {
        var header = Json(w =>
        {
            w.WriteString("alg", "ES256");
            w.WriteString("kid", key.Kid);
            w.WriteString("typ", JoseType);
            w.WriteStartObject("jwk");
            w.WriteString("kty", key.PublicJwk.Kty);
            w.WriteString("crv", key.PublicJwk.Crv);
            w.WriteString("x", key.PublicJwk.X);
            w.WriteString("y", key.PublicJwk.Y);
            w.WriteEndObject();
        });
        var payload = Json(w =>
        {
            if (Node is not null)
            {
                w.WriteString("node", Node);
            }

            w.WriteNumber("seq", Seq);
            w.WriteString("hash", HeadHash);
            w.WriteString("time", AuditEvent.FormatTime(Time));
        });
        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        var signature = key.Ecdsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>
    /// Reads and verifies a checkpoint JWS: ES256 and its <c>typ</c>, a signature that verifies with
    /// <paramref name="key"/> (a key kept with an exported checkpoint) or else with the key in its
    /// header, whose RFC 7638 thumbprint must be the <c>kid</c> (Tessera names its keys so), and a
    /// statement of the expected shape. Verified by hand rather than with IdentityModel's token
    /// handler: it runs synchronously inside the chain verifier's parallel pass, and the key comes
    /// with the checkpoint rather than from a key set; tests check that IdentityModel accepts it.
    /// </summary>
    public static AuditCheckpointReading Read(string jws, JsonWebKey? key = null)
    {
        if (jws.Length > MaxLength)
        {
            return AuditCheckpointReading.Refused("is longer than a checkpoint can be");
        }

        var parts = jws.Split('.');
        if (parts.Length != 3 || !TryDecode(parts[0], out var headerJson) || !TryDecode(parts[1], out var payloadJson) || !TryDecode(parts[2], out var signature))
        {
            return AuditCheckpointReading.Refused("is not a compact JWS");
        }

        string? kid;
        JsonWebKey? headerKey;
        try
        {
            using var header = JsonDocument.Parse(headerJson);
            var h = header.RootElement;
            if (h.ValueKind != JsonValueKind.Object || Text(h, "alg") != "ES256" || Text(h, "typ") != JoseType)
            {
                return AuditCheckpointReading.Refused($"is not an ES256 JWS of type {JoseType}");
            }

            kid = Text(h, "kid");
            headerKey = h.TryGetProperty("jwk", out var jwk) && jwk.ValueKind == JsonValueKind.Object
                ? new JsonWebKey { Kty = Text(jwk, "kty"), Crv = Text(jwk, "crv"), X = Text(jwk, "x"), Y = Text(jwk, "y") }
                : null;
        }
        catch (JsonException)
        {
            return AuditCheckpointReading.Refused("has a header that is not JSON");
        }

        if (kid is null)
        {
            return AuditCheckpointReading.Refused("names no key (kid)");
        }

        var verifyWith = key ?? headerKey;
        if (verifyWith is null)
        {
            return AuditCheckpointReading.Refused($"carries no public key for its key {kid}");
        }

        if (!IsP256(verifyWith) || !string.Equals(Thumbprint(verifyWith), kid, StringComparison.Ordinal))
        {
            return AuditCheckpointReading.Refused($"is verified with a public key that is not its key {kid} (the key's thumbprint is not the kid)");
        }

        if (!VerifySignature(verifyWith, Encoding.ASCII.GetBytes(jws[..(parts[0].Length + 1 + parts[1].Length)]), signature))
        {
            return AuditCheckpointReading.Refused($"signature does not verify with key {kid} (forged or altered)");
        }

        var statement = ReadStatement(payloadJson);
        return statement is null
            ? AuditCheckpointReading.Refused("is signed, but its statement is not a checkpoint (node, seq, hash, time)")
            : new AuditCheckpointReading(statement, kid, PublicKey(verifyWith, kid), null);
    }

    /// <summary>The public JWK as a key set holds it (kid, use, alg), from the key a checkpoint was verified with.</summary>
    private static JsonWebKey PublicKey(JsonWebKey key, string kid) => new()
    {
        Kty = JsonWebAlgorithmsKeyTypes.EllipticCurve,
        Crv = JsonWebKeyECTypes.P256,
        X = key.X,
        Y = key.Y,
        Kid = kid,
        Use = JsonWebKeyUseNames.Sig,
        Alg = SigningKey.Algorithm,
    };

    private static AuditCheckpoint? ReadStatement(byte[] payloadJson)
    {
        try
        {
            using var payload = JsonDocument.Parse(payloadJson);
            var p = payload.RootElement;
            if (p.ValueKind != JsonValueKind.Object
                || !p.TryGetProperty("seq", out var seq) || seq.ValueKind != JsonValueKind.Number || !seq.TryGetInt64(out var s) || s < 1
                || Text(p, "hash") is not { } hash || !LowerHex(hash)
                || Text(p, "time") is not { } time
                || !DateTimeOffset.TryParseExact(time, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return null;
            }

            if (p.TryGetProperty("node", out var node) && node.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            return new AuditCheckpoint(Text(p, "node"), s, hash, at);
        }
        catch (JsonException)
        {
            return null;
        }

        // Lower-case hex, as the chain writes its hashes.
        static bool LowerHex(string hash) => hash.Length == 64 && hash.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
    }

    private static bool IsP256(JsonWebKey key) =>
        key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && key.Crv == JsonWebKeyECTypes.P256 && key.X is not null && key.Y is not null;

    /// <summary>The RFC 7638 thumbprint, as <see cref="SigningKey.Generate"/> computes a kid.</summary>
    private static string Thumbprint(JsonWebKey key) =>
        Base64UrlEncoder.Encode(new JsonWebKey { Kty = key.Kty, Crv = key.Crv, X = key.X, Y = key.Y }.ComputeJwkThumbprint());

    private static bool VerifySignature(JsonWebKey key, byte[] signingInput, byte[] signature)
    {
        if (signature.Length != 64 || !TryDecode(key.X, out var x) || !TryDecode(key.Y, out var y) || x.Length != 32 || y.Length != 32)
        {
            return false;
        }

        try
        {
            using var ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return ecdsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            // Not a point on the curve: no signature verifies with it.
            return false;
        }
    }

    private static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        if (!Base64Url.IsValid(text, out var length))
        {
            return false;
        }

        bytes = new byte[length];
        return Base64Url.TryDecodeFromChars(text, bytes, out var written) && written == length;
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
