using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>A corporate identity provider for tests: a P-256 key, its JWKS file, and principal tokens.</summary>
public sealed class TestIdp
{
    public const string Issuer = "https://idp.corp.test";
    public const string Audience = "tessera";

    /// <summary>The provider's default <c>admin_audience</c>: tokens for the admin API and approval decisions.</summary>
    public const string AdminAudience = "tessera-admin";

    private readonly ECDsaSecurityKey _key;

    public TestIdp(string kid = "idp-key-1")
    {
        _key = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = kid };
    }

    public SecurityKey Key => _key;

    /// <summary>Writes <c>idp.jwks.json</c> (public key only) into <paramref name="directory"/>.</summary>
    public void WriteJwks(string directory)
    {
        Directory.CreateDirectory(directory);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(_key.ECDsa.ExportParameters(false))) { KeyId = _key.KeyId });
        File.WriteAllText(Path.Combine(directory, "idp.jwks.json"), $$"""{"keys":[{"kty":"EC","crv":"{{jwk.Crv}}","x":"{{jwk.X}}","y":"{{jwk.Y}}","kid":"{{jwk.Kid}}","use":"sig","alg":"ES256"}]}""");
    }

    /// <summary>A fresh broker data directory (<see cref="TestBroker.NewDirectory"/>) holding this provider's JWKS, as <see cref="Yaml"/> expects.</summary>
    public string NewBrokerDirectory()
    {
        var directory = TestBroker.NewDirectory();
        WriteJwks(directory);
        return directory;
    }

    public const string Yaml = """
        identity_providers:
          - id: corp
            issuer: https://idp.corp.test
            jwks_file: idp.jwks.json
            audience: tessera
        """;

    /// <summary>An admin's or approver's JWT: addressed to <see cref="AdminAudience"/>, no delegation claims.</summary>
    public string MintAdmin(string sub, DateTimeOffset now, TimeSpan? lifetime = null) => Mint(sub, now, lifetime: lifetime, audience: AdminAudience);

    /// <summary>A principal's JWT, signed by this provider unless <paramref name="signingKey"/> says otherwise; a null <paramref name="audience"/> leaves <c>aud</c> to <paramref name="extraClaims"/>.</summary>
    public string Mint(
        string sub,
        DateTimeOffset now,
        string? scope = null,
        TimeSpan? lifetime = null,
        string issuer = Issuer,
        string? audience = Audience,
        IDictionary<string, object>? extraClaims = null,
        string? typ = null,
        SecurityKey? signingKey = null,
        string algorithm = SecurityAlgorithms.EcdsaSha256)
    {
        var claims = new Dictionary<string, object> { ["sub"] = sub };
        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        foreach (var (k, v) in extraClaims ?? new Dictionary<string, object>())
        {
            claims[k] = v;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + (lifetime ?? TimeSpan.FromMinutes(30))).UtcDateTime,
            SigningCredentials = new SigningCredentials(signingKey ?? _key, algorithm),
            TokenType = typ,
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
