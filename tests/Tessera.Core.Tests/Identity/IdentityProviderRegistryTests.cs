using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tests.Identity;

/// <summary>One provider, two uses: delegation (subject tokens) and administration (admin API, approvals) never share a token.</summary>
public sealed class IdentityProviderRegistryTests
{
    private const string Issuer = "https://idp.corp.example";
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly ECDsaSecurityKey _key = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "k1" };
    private readonly IdentityProviderRegistry _registry;

    public IdentityProviderRegistryTests()
    {
        var options = new IdentityProviderOptions("corp", Issuer, null, new Uri("https://idp.corp.example/jwks"), "tessera");
        _registry = new IdentityProviderRegistry([new IdentityProvider(options, new StaticJwks([_key]))], new FakeTimeProvider(Now));
    }

    [Theory]
    [InlineData(IdentityTokenUse.Delegation)]
    [InlineData(IdentityTokenUse.Administration)]
    public async Task A_token_with_a_segment_that_is_not_base64url_is_not_a_jwt(IdentityTokenUse use)
    {
        // The shape fuzzing found for client assertions (tools/Tessera.Fuzz): five segments read as a JWE, one
        // of them not base64url (a length of 4n+1), threw FormatException.
        var (token, reason) = await _registry.ValidateAsync("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.AAAAA.AAAA.AAAA.AAAA", use, default);

        Assert.Null(token);
        Assert.Equal("not a JWT", reason);
    }

    [Fact]
    public async Task A_token_for_the_delegation_audience_is_a_subject_token_and_never_an_admin_credential()
    {
        var token = Mint(new() { ["aud"] = "tessera" });
        Assert.NotNull((await _registry.ValidateAsync(token, IdentityTokenUse.Delegation, default)).Token);
        var (admin, reason) = await _registry.ValidateAsync(token, IdentityTokenUse.Administration, default);
        Assert.Null(admin);
        Assert.Contains("wrong audience", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_for_the_admin_audience_is_an_admin_credential_and_never_a_subject_token()
    {
        var token = Mint(new() { ["aud"] = "tessera-admin" });
        Assert.NotNull((await _registry.ValidateAsync(token, IdentityTokenUse.Administration, default)).Token);
        Assert.Null((await _registry.ValidateAsync(token, IdentityTokenUse.Delegation, default)).Token);
    }

    [Fact]
    public async Task A_token_for_both_audiences_serves_neither_use()
    {
        var token = Mint(new() { ["aud"] = new[] { "tessera-admin", "tessera" } });
        var (admin, adminReason) = await _registry.ValidateAsync(token, IdentityTokenUse.Administration, default);
        var (subject, subjectReason) = await _registry.ValidateAsync(token, IdentityTokenUse.Delegation, default);
        Assert.Null(admin);
        Assert.Null(subject);
        Assert.Contains("also meant for delegation", adminReason, StringComparison.Ordinal);
        Assert.Contains("also meant for the admin API", subjectReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("may_act")]
    [InlineData("act")]
    public async Task An_admin_audience_token_with_delegation_claims_is_refused(string claim)
    {
        var token = Mint(new() { ["aud"] = "tessera-admin", [claim] = new Dictionary<string, object> { ["sub"] = "support-agent" } });
        var (admin, reason) = await _registry.ValidateAsync(token, IdentityTokenUse.Administration, default);
        Assert.Null(admin);
        Assert.Contains(claim, reason, StringComparison.Ordinal);
    }

    private string Mint(Dictionary<string, object> claims)
    {
        claims["sub"] = "carol";
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Claims = claims,
            IssuedAt = Now.UtcDateTime,
            Expires = (Now + TimeSpan.FromMinutes(10)).UtcDateTime,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha256),
        });
    }
}
