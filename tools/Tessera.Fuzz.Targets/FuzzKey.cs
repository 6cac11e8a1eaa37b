using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// The key a target signs the fuzzer's bytes with, so that inputs get past the signature check into the
/// claim checks behind it (random bytes never carry a valid signature). One P-256 key per process:
/// a signature differs each time, the outcome for a given input does not.
/// </summary>
internal sealed class FuzzKey
{
    public const string KeyId = "fuzz";

    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static FuzzKey Instance { get; } = new();

    /// <summary>The public key as a JWK object (members in RFC 7638 order).</summary>
    public string PublicJwk { get; }

    public ECDsaSecurityKey SecurityKey { get; }

    private FuzzKey()
    {
        var p = _ec.ExportParameters(false);
        PublicJwk = $$"""{"crv":"P-256","kid":"{{KeyId}}","kty":"EC","x":"{{Base64UrlEncoder.Encode(p.Q.X!)}}","y":"{{Base64UrlEncoder.Encode(p.Q.Y!)}}"}""";
        SecurityKey = new ECDsaSecurityKey(_ec) { KeyId = KeyId };
    }

    /// <summary>A compact JWS of <paramref name="header"/> and the raw <paramref name="payload"/> bytes, signed ES256.</summary>
    public string Sign(string header, ReadOnlySpan<byte> payload)
    {
        var input = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(header)) + "." + Base64UrlEncoder.Encode(payload.ToArray());
        var signature = _ec.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return input + "." + Base64UrlEncoder.Encode(signature);
    }
}
