using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tests.Dpop;

/// <summary>
/// A client's DPoP key pair that writes proofs by hand, so tests can also write every malformed or
/// hostile variant (missing claims, wrong typ, private key in the header, other algorithms).
/// </summary>
public sealed class DpopKey : IDisposable
{
    private readonly ECDsa? _ec;
    private readonly RSA? _rsa;

    private DpopKey(ECDsa? ec, RSA? rsa)
    {
        _ec = ec;
        _rsa = rsa;
    }

    public static DpopKey CreateEc() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), null);

    public static DpopKey CreateRsa() => new(null, RSA.Create(2048));

    /// <summary>The public JWK as it goes into a proof header.</summary>
    public JsonObject PublicJwk(bool includePrivate = false)
    {
        if (_ec is not null)
        {
            var p = _ec.ExportParameters(includePrivate);
            var jwk = new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64UrlEncoder.Encode(p.Q.X!), ["y"] = Base64UrlEncoder.Encode(p.Q.Y!) };
            if (includePrivate)
            {
                jwk["d"] = Base64UrlEncoder.Encode(p.D!);
            }

            return jwk;
        }

        var r = _rsa!.ExportParameters(false);
        return new JsonObject { ["kty"] = "RSA", ["n"] = Base64UrlEncoder.Encode(r.Modulus!), ["e"] = Base64UrlEncoder.Encode(r.Exponent!) };
    }

    /// <summary>RFC 7638 thumbprint computed independently of the code under test.</summary>
    public string Thumbprint()
    {
        var jwk = PublicJwk();
        var canonical = _ec is not null
            ? $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{jwk["x"]}\",\"y\":\"{jwk["y"]}\"}}"
            : $"{{\"e\":\"{jwk["e"]}\",\"kty\":\"RSA\",\"n\":\"{jwk["n"]}\"}}";
        return Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    public static string Ath(string accessToken) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    /// <summary>A valid proof for <paramref name="method"/> <paramref name="htu"/>; <paramref name="tweak"/> edits header and payload before signing.</summary>
    public string Proof(string method, string htu, DateTimeOffset iat, string? accessToken = null, Action<JsonObject, JsonObject>? tweak = null, string? alg = null)
    {
        alg ??= _ec is not null ? "ES256" : "PS256";
        var header = new JsonObject { ["typ"] = "dpop+jwt", ["alg"] = alg, ["jwk"] = PublicJwk() };
        var payload = new JsonObject { ["jti"] = Guid.NewGuid().ToString("N"), ["htm"] = method, ["htu"] = htu, ["iat"] = iat.ToUnixTimeSeconds() };
        if (accessToken is not null)
        {
            payload["ath"] = Ath(accessToken);
        }

        tweak?.Invoke(header, payload);
        return Sign(header, payload);
    }

    public string Sign(JsonObject header, JsonObject payload)
    {
        var input = Base64UrlEncoder.Encode(header.ToJsonString()) + "." + Base64UrlEncoder.Encode(payload.ToJsonString());
        var bytes = Encoding.ASCII.GetBytes(input);
        var alg = header["alg"]?.GetValue<string>() ?? "";
        byte[] signature = alg switch
        {
            "none" => [],
            "HS256" => HMACSHA256.HashData(Encoding.ASCII.GetBytes("shared-secret-shared-secret-1234"), bytes),
            _ when _ec is not null => _ec.SignData(bytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            "RS256" => _rsa!.SignData(bytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            _ => _rsa!.SignData(bytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        };
        return input + "." + Base64UrlEncoder.Encode(signature);
    }

    public void Dispose()
    {
        _ec?.Dispose();
        _rsa?.Dispose();
    }
}
