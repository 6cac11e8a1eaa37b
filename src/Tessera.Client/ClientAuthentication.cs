using System.Net.Http.Headers;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Client;

/// <summary>
/// Adds the agent's client authentication to a request to Tessera: <c>client_secret_basic</c>,
/// <c>private_key_jwt</c> (RFC 7523) or a federated assertion (the same parameters, an external JWT).
/// </summary>
internal sealed class ClientAuthentication(TesseraAgentOptions options, TimeProvider time)
{
    public const string JwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>Well under Tessera's 5-minute maximum: an assertion is made for one request.</summary>
    private static readonly TimeSpan AssertionLifetime = TimeSpan.FromMinutes(1);

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    public async ValueTask ApplyAsync(HttpRequestMessage request, List<KeyValuePair<string, string>> form, Uri tokenEndpoint, CancellationToken cancellationToken)
    {
        var agentId = options.AgentId!;
        if (options.FederatedAssertion is { } federated)
        {
            var assertion = await federated(cancellationToken).ConfigureAwait(false);
            form.Add(new("client_id", agentId));
            form.Add(new("client_assertion_type", JwtBearerAssertionType));
            form.Add(new("client_assertion", assertion));
        }
        else if (options.AssertionKey is { } key)
        {
            form.Add(new("client_id", agentId));
            form.Add(new("client_assertion_type", JwtBearerAssertionType));
            form.Add(new("client_assertion", CreateAssertion(agentId, key, options.AssertionAlgorithm!, tokenEndpoint)));
        }
        else
        {
            // RFC 6749 §2.3.1: both halves form-urlencoded before base64.
            var credentials = Uri.EscapeDataString(agentId) + ":" + Uri.EscapeDataString(options.ClientSecret!);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }
    }

    /// <summary>An RFC 7523 assertion: iss = sub = the agent, aud = the token endpoint, a fresh jti, one minute to live.</summary>
    private string CreateAssertion(string agentId, SecurityKey key, string algorithm, Uri tokenEndpoint)
    {
        var now = time.GetUtcNow();
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = agentId,
            Audience = tokenEndpoint.AbsoluteUri,
            IssuedAt = now.UtcDateTime,
            Expires = (now + AssertionLifetime).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = agentId,
                ["jti"] = Guid.NewGuid().ToString("N"),
            },
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }
}
