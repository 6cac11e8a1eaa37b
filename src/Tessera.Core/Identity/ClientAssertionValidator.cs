using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Protocol;
using Tessera.Core.Configuration;

namespace Tessera.Core.Identity;

/// <summary>
/// Validates RFC 7523 client assertions (<c>private_key_jwt</c>): iss = sub = client_id, our issuer
/// or token endpoint as audience, a short lifetime, asymmetric signature by a registered key, and a
/// <c>jti</c> that is accepted once.
/// </summary>
public sealed class ClientAssertionValidator
{
    /// <summary>An assertion may live at most this long: it proves possession now, not later.</summary>
    internal static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);

    internal static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>Asymmetric algorithms only: <c>none</c> and HMAC (a shared secret as key) are refused.</summary>
    public static readonly IReadOnlyList<string> AllowedAlgorithms =
    [
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    private const int MaxAssertionLength = 8 * 1024;

    private readonly LiveConfig _live;
    private readonly IReplayCache _replay;
    private readonly TimeProvider _time;
    private readonly string[] _audiences;
    private readonly FederatedAssertionValidator? _federated;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <summary>
    /// Without <paramref name="federated"/> every assertion is <c>private_key_jwt</c>; with it, assertions whose
    /// <c>iss</c> is a trusted identity provider go to the federated validator.
    /// </summary>
    public ClientAssertionValidator(LiveConfig live, IReplayCache replay, TimeProvider time, string issuer, FederatedAssertionValidator? federated = null)
    {
        _live = live;
        _replay = replay;
        _time = time;
        _audiences = Audiences(issuer);
        _federated = federated;
    }

    /// <summary>A client assertion is addressed to this server: its issuer or its token endpoint, exactly.</summary>
    internal static string[] Audiences(string issuer) => [issuer, issuer + "/oauth/token"];

    public async ValueTask<ClientAuthentication> ValidateAsync(string assertion, string? clientId, CancellationToken cancellationToken)
    {
        var claimed = ClientAuthenticator.Truncate(clientId);
        if (assertion.Length is 0 or > MaxAssertionLength || !_handler.CanReadToken(assertion))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionMalformed, "malformed client assertion");
        }

        JsonWebToken unverified;
        try
        {
            unverified = _handler.ReadJsonWebToken(assertion);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            // FormatException: a segment that is not base64url (CanReadToken checks only the characters).
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionMalformed, "malformed client assertion");
        }

        // An assertion from a trusted identity provider authenticates a federated agent. Configuration
        // guarantees no agent id equals a provider's issuer, so the two kinds cannot be confused.
        var issuer = unverified.Issuer;
        if (_federated is not null && !string.IsNullOrEmpty(issuer) && _federated.Trusts(issuer))
        {
            return await _federated.ValidateAsync(unverified, clientId, cancellationToken);
        }

        // Reject assertions whose issuer is not the client named in the request.
        if (string.IsNullOrEmpty(issuer) || (clientId is not null && clientId != issuer))
        {
            return ClientAuthentication.Failure(claimed ?? ClientAuthenticator.Truncate(issuer), RefusalCodes.AssertionIssuerMismatch, "client assertion iss does not match client_id");
        }

        claimed = ClientAuthenticator.Truncate(issuer);
        var agent = _live.Current.Agents.Find(issuer);
        if (agent is null)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.ClientUnknown, "unknown client");
        }

        if (agent.AssertionKeys.Count == 0)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionNoKeys, "client has no keys registered for private_key_jwt");
        }

        // The same signature, issuer, audience and algorithm checks as every JWT from an identity provider;
        // lifetime is checked below against the injected clock, not the library's.
        // Validate the token already parsed above: one parse per assertion.
        var validation = await _handler.ValidateTokenAsync(unverified, IdentityProviderRegistry.ValidationFor(agent.Id, _audiences, agent.AssertionKeys));
        if (!validation.IsValid)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionInvalid, $"client assertion rejected: {validation.Exception?.GetType().Name ?? "invalid"}");
        }

        var token = (JsonWebToken)validation.SecurityToken;

        // Reject assertions whose subject is not the client itself (RFC 7523 §3: sub = client_id).
        if (token.Subject != agent.Id)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionSubjectMismatch, "client assertion sub does not match iss");
        }

        var now = _time.GetUtcNow();
        if (!token.TryGetPayloadValue<long>("exp", out var expSeconds))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionNoExp, "client assertion has no exp");
        }

        var exp = NumericDate.FromSeconds(expSeconds);
        // Reject expired assertions, and assertions meant to live long enough to be worth stealing.
        // The skew is applied to our clock, never to the presented time, which may sit at the edge of the range.
        if (exp <= now - ClockSkew)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionExpired, "client assertion expired");
        }

        if (exp - now > MaxLifetime + ClockSkew)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionLifetimeTooLong, "client assertion lifetime too long (max 5m)");
        }

        if (token.TryGetPayloadValue<long>("nbf", out var nbf) && NumericDate.FromSeconds(nbf) > now + ClockSkew)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionNotYetValid, "client assertion not yet valid");
        }

        // Reject assertions without a jti, and any jti seen before (RFC 7523 §3 item 7).
        var jti = token.Id;
        if (string.IsNullOrEmpty(jti) || jti.Length > 256)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionNoJti, "client assertion has no usable jti");
        }

        var key = $"assertion\n{agent.Id}\n{jti}";
        if (!await _replay.TryUseAsync(key, exp + ClockSkew, cancellationToken))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.AssertionReplayed, "client assertion jti replayed");
        }

        return ClientAuthentication.Success(agent, new AssertionUsed(key, exp + ClockSkew));
    }
}
