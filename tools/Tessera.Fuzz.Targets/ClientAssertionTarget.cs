using System.Text;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// The client assertion validators: <c>private_key_jwt</c> and, for an assertion whose <c>iss</c> is a
/// trusted identity provider, the federated one. An input starting with <c>{</c> is the assertion's payload,
/// signed here with <see cref="FuzzKey"/> (registered both as the agent's key and as the provider's), so
/// the claim checks behind the signature are reached; any other input is the whole assertion. Either way
/// the outcome is an authentication, succeeded or refused with its code.
/// </summary>
internal static class ClientAssertionTarget
{
    public const string Agent = "fuzz-agent";
    public const string FederatedAgent = "fuzz-workload";
    public const string ProviderIssuer = "https://idp.fuzz.example";

    private const string Header = """{"alg":"ES256","typ":"JWT","kid":"fuzz"}""";

    private static readonly ClientAssertionValidator Validator = Create();

    private static ClientAssertionValidator Create()
    {
        var expires = FixedClock.Now.AddYears(1);
        var agents = new AgentRegistry(
        [
            new AgentOptions
            {
                Id = Agent, Owner = "fuzz", Purpose = "fuzzing", Expires = expires,
                Auth = new AgentAuthOptions { JwksJson = $$"""{"keys":[{{FuzzKey.Instance.PublicJwk}}]}""" },
            },
            new AgentOptions
            {
                Id = FederatedAgent, Owner = "fuzz", Purpose = "fuzzing", Expires = expires,
                Auth = new AgentAuthOptions { Federated = new PrincipalRef("corp", "system:serviceaccount:agents:fuzz") },
            },
        ]);
        var provider = new IdentityProvider(new IdentityProviderOptions("corp", ProviderIssuer, null, new Uri(ProviderIssuer + "/jwks"), "tessera"), new StaticJwks([FuzzKey.Instance.SecurityKey]));
        var providers = new IdentityProviderRegistry([provider], FixedClock.Instance);
        var live = LiveConfig.Of(agents, providers, FixedClock.Instance);
        var federated = new FederatedAssertionValidator(live, AcceptingReplayCache.Instance, FixedClock.Instance, DpopProofTarget.Issuer);
        return new ClientAssertionValidator(live, AcceptingReplayCache.Instance, FixedClock.Instance, DpopProofTarget.Issuer, federated);
    }

    public static void Run(ReadOnlySpan<byte> input)
    {
        var assertion = !input.IsEmpty && input[0] == (byte)'{' ? FuzzKey.Instance.Sign(Header, input) : Encoding.UTF8.GetString(input);

        // With and without a client_id in the request: both are checked against the assertion.
        var clientId = (input.Length % 3) switch { 0 => null, 1 => Agent, _ => FederatedAgent };
        var result = Validator.ValidateAsync(assertion, clientId, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (result.Succeeded == (result.Refusal is not null))
        {
            throw new InvalidOperationException("a client authentication either succeeds or carries a refusal");
        }
    }
}
