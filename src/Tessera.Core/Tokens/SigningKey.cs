using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tokens;

/// <summary>An ES256 key in memory: it signs from <see cref="ActivatesAt"/> until the next key activates.</summary>
public sealed class SigningKey
{
    public const string Algorithm = SecurityAlgorithms.EcdsaSha256;

    public SigningKey(string kid, ECDsa ecdsa, DateTimeOffset createdAt, DateTimeOffset activatesAt)
    {
        Kid = kid;
        Ecdsa = ecdsa;
        CreatedAt = createdAt;
        ActivatesAt = activatesAt;
        SecurityKey = new ECDsaSecurityKey(ecdsa) { KeyId = kid };
        EncodedJwtHeader = JwtSigner.EncodedHeader(kid);
        var p = ecdsa.ExportParameters(includePrivateParameters: false);
        PublicJwk = new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.EllipticCurve,
            Crv = JsonWebKeyECTypes.P256,
            X = Base64UrlEncoder.Encode(p.Q.X),
            Y = Base64UrlEncoder.Encode(p.Q.Y),
            Kid = kid,
            Use = JsonWebKeyUseNames.Sig,
            Alg = Algorithm,
        };
    }

    public string Kid { get; }
    public ECDsa Ecdsa { get; }
    public DateTimeOffset CreatedAt { get; }
    public DateTimeOffset ActivatesAt { get; }

    /// <summary>The public key as IdentityModel sees it, for validating our own tokens.</summary>
    public SecurityKey SecurityKey { get; }

    public JsonWebKey PublicJwk { get; }

    /// <summary>The Base64url JOSE header every token this key signs starts with.</summary>
    internal byte[] EncodedJwtHeader { get; }

    /// <summary>A new P-256 key whose kid is its RFC 7638 thumbprint.</summary>
    public static SigningKey Generate(DateTimeOffset createdAt, DateTimeOffset activatesAt)
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ecdsa));
        var kid = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        return new SigningKey(kid, ecdsa, createdAt, activatesAt);
    }
}
