using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tests.Identity;

public sealed class ClientAssertionValidatorTests
{
    private const string Issuer = "https://tessera.example";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    private ClientAssertionValidator Validator()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = ec.ExportParameters(false).Q;
        var jwks = $$"""{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"{{Base64UrlEncoder.Encode(q.X!)}}","y":"{{Base64UrlEncoder.Encode(q.Y!)}}"}]}""";
        var agents = new AgentRegistry(
        [
            new AgentOptions
            {
                Id = "agent-1", Owner = "team", Purpose = "tests", Expires = _time.GetUtcNow().AddDays(30),
                Auth = new AgentAuthOptions { JwksJson = jwks },
            },
        ]);
        return new ClientAssertionValidator(LiveConfig.Of(agents, new IdentityProviderRegistry([], _time), _time), new MemoryReplayCache(_time), _time, Issuer);
    }

    [Theory]
    // Found by fuzzing (tools/Tessera.Fuzz, client-assertion): five segments read as a JWE, one of them
    // not base64url (a length of 4n+1), threw FormatException out of the token endpoint.
    [InlineData("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiY2xpZW50LWF1dGhlbnRpY2F0aW9uK2p3dCJ9.AAAAA.AAAA.AAAA.AAAA")]
    public async Task An_assertion_that_cannot_be_decoded_is_refused_as_malformed(string assertion)
    {
        var result = await Validator().ValidateAsync(assertion, "agent-1", TestContext.Current.CancellationToken);

        Assert.False(result.Succeeded);
        Assert.Equal(RefusalCodes.AssertionMalformed, result.Code);
    }
}
