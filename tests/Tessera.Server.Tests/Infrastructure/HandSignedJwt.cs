using System.Buffers.Text;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>Builds compact JWS by hand, so headers and claims can hold values no JWT library would write.</summary>
public static class HandSignedJwt
{
    public static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    /// <summary>ES256 over any header and payload (IEEE P1363 r||s signature, as JWS requires).</summary>
    public static string Es256(ECDsa key, object header, object payload)
    {
        var signingInput = Encode(header) + "." + Encode(payload);
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>A public JWK set (no private parameters) for <paramref name="key"/>.</summary>
    public static string PublicJwks(ECDsa key, string kid)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        return JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y), kid, use = "sig", alg = "ES256" } },
        });
    }
}
