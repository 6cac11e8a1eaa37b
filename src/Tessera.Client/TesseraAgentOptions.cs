using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Client;

/// <summary>
/// How an agent reaches Tessera and proves who it is. Bind it from configuration
/// (<c>Authority</c>, <c>AgentId</c>, <c>ClientSecret</c>, <c>RefreshBeforeExpiry</c>) or set it in code
/// with one of <see cref="UseClientSecret"/>, <see cref="UsePrivateKeyJwt(ECDsa, string?)"/> or
/// <see cref="UseFederatedAssertion"/>, and optionally <see cref="UseDPoP"/>.
/// </summary>
public sealed class TesseraAgentOptions
{
    /// <summary>The name of the <see cref="HttpClient"/> (from <c>IHttpClientFactory</c>) the agent uses to talk to Tessera itself: configure it to add handlers or a proxy.</summary>
    public const string HttpClientName = "Tessera.Client";

    /// <summary>Tessera's issuer (<c>server.issuer</c>); the endpoints come from its RFC 8414 metadata at <c>{Authority}/.well-known/oauth-authorization-server</c>.</summary>
    public Uri? Authority { get; set; }

    /// <summary>The agent's id in Tessera (its <c>client_id</c>).</summary>
    public string? AgentId { get; set; }

    /// <summary>The agent's client secret (<c>client_secret_basic</c>); set by <see cref="UseClientSecret"/> or bound from configuration.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>How long before its expiry a cached token is replaced by a new one (default 30 s).</summary>
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromSeconds(30);

    internal SecurityKey? AssertionKey { get; private set; }

    internal string? AssertionAlgorithm { get; private set; }

    internal Func<CancellationToken, ValueTask<string>>? FederatedAssertion { get; private set; }

    internal bool DPoPEnabled { get; private set; }

    internal ECDsa? DPoPKey { get; private set; }

    /// <summary>Authenticates with a client secret (<c>client_secret_basic</c>).</summary>
    /// <param name="secret">The agent's secret, as registered (its SHA-256 is in <c>tessera.yaml</c>).</param>
    public TesseraAgentOptions UseClientSecret(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        ClientSecret = secret;
        AssertionKey = null;
        FederatedAssertion = null;
        return this;
    }

    /// <summary>Authenticates with <c>private_key_jwt</c> (RFC 7523): an ES256 assertion signed by <paramref name="key"/>, whose public half is in the agent's <c>jwks</c>.</summary>
    /// <param name="key">A P-256 private key.</param>
    /// <param name="keyId">The <c>kid</c> of the key in the agent's <c>jwks</c>, if it has one.</param>
    public TesseraAgentOptions UsePrivateKeyJwt(ECDsa key, string? keyId = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        return UsePrivateKeyJwt(new ECDsaSecurityKey(key) { KeyId = keyId }, SecurityAlgorithms.EcdsaSha256);
    }

    /// <summary>Authenticates with <c>private_key_jwt</c> (RFC 7523) signed by any asymmetric <paramref name="key"/> (an RSA or EC key, or a <see cref="JsonWebKey"/> with its private part).</summary>
    /// <param name="key">The private key; its <c>KeyId</c> becomes the assertion's <c>kid</c>.</param>
    /// <param name="algorithm">The JWS algorithm, e.g. <c>ES256</c> or <c>PS256</c>; Tessera refuses <c>none</c> and HMAC.</param>
    public TesseraAgentOptions UsePrivateKeyJwt(SecurityKey key, string algorithm)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(algorithm);
        AssertionKey = key;
        AssertionAlgorithm = algorithm;
        ClientSecret = null;
        FederatedAssertion = null;
        return this;
    }

    /// <summary>
    /// Authenticates with a federated assertion: a JWT that a trusted identity provider issued to this
    /// workload (a Kubernetes service-account token, a SPIFFE JWT-SVID, a CI OIDC token), addressed to
    /// Tessera's issuer or token endpoint. It is called for every token request, so it should return a
    /// fresh token (Tessera accepts each <c>jti</c> once and lifetimes of at most 10 minutes).
    /// </summary>
    /// <param name="assertion">Returns the external JWT.</param>
    public TesseraAgentOptions UseFederatedAssertion(Func<CancellationToken, ValueTask<string>> assertion)
    {
        ArgumentNullException.ThrowIfNull(assertion);
        FederatedAssertion = assertion;
        ClientSecret = null;
        AssertionKey = null;
        return this;
    }

    /// <summary>
    /// Binds tokens to a key (DPoP, RFC 9449): every token request and every call carries a fresh proof,
    /// so a stolen token is useless without the key.
    /// </summary>
    /// <param name="key">A P-256 key; null creates a fresh one for this process.</param>
    public TesseraAgentOptions UseDPoP(ECDsa? key = null)
    {
        if (key is not null && key.KeySize != 256)
        {
            throw new ArgumentException("A DPoP key must be a P-256 key (ES256).", nameof(key));
        }

        DPoPEnabled = true;
        DPoPKey = key;
        return this;
    }
}
