using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SupportAgent;

/// <summary>
/// A stand-in for the company's identity provider: one P-256 key whose public half Tessera reads from
/// <c>idp.jwks.json</c>, and short-lived ES256 JWTs for a person (alice signing in to the support tool,
/// bob approving). In production these tokens come from the real provider; Tessera cannot tell apart.
/// </summary>
internal sealed class SampleIdentityProvider(ECDsa key)
{
    public const string Issuer = "https://idp.support-sample.example";
    public const string KeyId = "sample-idp";
    private const string KeyFile = "idp.key";

    public static SampleIdentityProvider Create(string directory)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(Path.Combine(directory, KeyFile), Convert.ToBase64String(key.ExportPkcs8PrivateKey()));
        var p = key.ExportParameters(includePrivateParameters: false);
        File.WriteAllText(Path.Combine(directory, "idp.jwks.json"), JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y), kid = KeyId, use = "sig", alg = "ES256" } },
        }));
        return new SampleIdentityProvider(key);
    }

    public static SampleIdentityProvider Load(string directory)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(Convert.FromBase64String(File.ReadAllText(Path.Combine(directory, KeyFile))), out _);
        return new SampleIdentityProvider(key);
    }

    /// <summary>A JWT for <paramref name="subject"/> addressed to <paramref name="audience"/>, valid for five minutes.</summary>
    public string Mint(string subject, string audience)
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var signingInput = Encode(new { alg = "ES256", typ = "JWT", kid = KeyId }) + "."
            + Encode(new { iss = Issuer, sub = subject, aud = audience, iat = now, nbf = now, exp = now + 300, jti = Guid.NewGuid().ToString("N") });
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);

        static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
    }
}
