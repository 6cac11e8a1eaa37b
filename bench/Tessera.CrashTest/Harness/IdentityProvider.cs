using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Tessera.CrashTest;

/// <summary>The people's identity provider: an ES256 key whose JWKS Tessera reads, signing the subject tokens of token exchanges.</summary>
internal sealed class IdentityProvider : IDisposable
{
    public const string Issuer = "https://idp.crash.test";
    private const string Kid = "crash-idp";
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string Jwks()
    {
        var p = _key.ExportParameters(includePrivateParameters: false);
        return JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y), kid = Kid, use = "sig", alg = "ES256" } },
        });
    }

    /// <summary>A JWT for <paramref name="sub"/> with audience <paramref name="aud"/> (a subject token by default, <c>tessera-admin</c> for the admin API), valid for ten minutes.</summary>
    public string Token(string sub, string aud = "tessera")
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var signingInput = Encode(new { alg = "ES256", typ = "JWT", kid = Kid }) + "." + Encode(new { iss = Issuer, sub, aud, iat = now, nbf = now, exp = now + 600 });
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);

        static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
    }

    public void Dispose() => _key.Dispose();
}
