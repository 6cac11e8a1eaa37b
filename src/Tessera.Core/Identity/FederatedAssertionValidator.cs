using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Protocol;
using Tessera.Core.Configuration;

namespace Tessera.Core.Identity;

/// <summary>
/// Validates client assertions for federated agents (<c>auth.federated: { idp, sub }</c>): a JWT that a
/// trusted identity provider issued to the workload (a Kubernetes service-account token, a SPIFFE
/// JWT-SVID, a CI system's OIDC token), so the agent holds no secret of ours. The provider's signature
/// with an asymmetric algorithm, <c>iss</c> = the provider, <c>sub</c> = the configured subject,
/// <c>aud</c> = this server (issuer or token endpoint, as for <c>private_key_jwt</c>), a lifetime of at
/// most <see cref="MaxLifetime"/>, and a <c>jti</c>, when present, accepted once.
/// </summary>
public sealed class FederatedAssertionValidator
{
    /// <summary>
    /// The longest lifetime accepted, both <c>exp − iat</c> and <c>exp − now</c>. Ten minutes: platform
    /// tokens are short (SPIRE JWT-SVIDs 5 min, CI OIDC tokens minutes) and Kubernetes will not issue a
    /// projected token shorter than 10 min, so this is the tightest bound those platforms can meet.
    /// </summary>
    internal static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(10);

    internal static readonly TimeSpan ClockSkew = ClientAssertionValidator.ClockSkew;

    /// <summary>
    /// Header types of a workload identity token: none, plain <c>JWT</c>, or the explicit client-assertion
    /// type of draft-ietf-oauth-rfc7523bis. Anything else (an access token, a DPoP proof, a logout token)
    /// is another kind of JWT that happens to come from a trusted issuer.
    /// </summary>
    private static readonly HashSet<string> AcceptedTypes = new(StringComparer.OrdinalIgnoreCase) { "JWT", "client-authentication+jwt" };

    private const int MaxJtiLength = 256;

    private readonly LiveConfig _live;
    private readonly IReplayCache _replay;
    private readonly TimeProvider _time;
    private readonly string[] _audiences;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public FederatedAssertionValidator(LiveConfig live, IReplayCache replay, TimeProvider time, string issuer)
    {
        _live = live;
        _replay = replay;
        _time = time;
        _audiences = ClientAssertionValidator.Audiences(issuer);
    }

    /// <summary>True when <paramref name="issuer"/> is a configured identity provider: the assertion is federated.</summary>
    public bool Trusts(string issuer) => _live.Current.IdentityProviders.FindByIssuer(issuer) is not null;

    /// <summary>Validates an assertion already parsed (not verified) whose <c>iss</c> is a trusted provider.</summary>
    public async ValueTask<ClientAuthentication> ValidateAsync(JsonWebToken unverified, string? clientId, CancellationToken cancellationToken)
    {
        var snapshot = _live.Current;
        var provider = snapshot.IdentityProviders.FindByIssuer(unverified.Issuer)!;
        var idp = provider.Options.Id;
        // For the audit log only: the agent this request claims to be, by client_id or by the unverified sub.
        var claimed = ClientAuthenticator.Truncate(clientId ?? snapshot.Agents.FindFederated(idp, unverified.Subject)?.Id);

        // Reject tokens of another kind (access tokens, DPoP proofs, ...) from a trusted issuer.
        if (!string.IsNullOrEmpty(unverified.Typ) && !AcceptedTypes.Contains(unverified.Typ))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedWrongType, $"federated assertion from '{idp}' has type '{DisplayText.Clip(unverified.Typ, 64)}', not a client assertion");
        }

        // Reject a client_id that names an agent not federated with this provider.
        Agent? agent = null;
        if (clientId is not null)
        {
            agent = snapshot.Agents.Find(clientId);
            if (agent is null)
            {
                return ClientAuthentication.Failure(claimed, RefusalCodes.ClientUnknown, "unknown client");
            }

            if (agent.Federated?.Idp != idp)
            {
                return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedNotFederated, $"client_id names an agent not federated with identity provider '{idp}'");
            }
        }

        var keys = await provider.Keys.GetKeysAsync(unverified.Kid, cancellationToken);
        // The provider's `audience` is for principals' tokens; a client assertion is addressed to this
        // server. Lifetime is checked below against the injected clock, not the library's.
        var validation = await _handler.ValidateTokenAsync(unverified, IdentityProviderRegistry.ValidationFor(provider.Options.Issuer, _audiences, keys));
        if (!validation.IsValid)
        {
            var why = validation.Exception is SecurityTokenInvalidAudienceException ? "wrong audience" : validation.Exception?.GetType().Name ?? "invalid";
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedInvalid, $"federated assertion from '{idp}' rejected: {why}");
        }

        var token = (JsonWebToken)validation.SecurityToken;

        // Reject assertions without a subject: the subject is what names the agent.
        var sub = token.Subject;
        if (string.IsNullOrEmpty(sub))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedNoSub, $"federated assertion from '{idp}' has no sub");
        }

        // Reject a subject that is not the agent's configured one (or, without client_id, names no agent).
        if (agent is null)
        {
            agent = snapshot.Agents.FindFederated(idp, sub);
            if (agent is null)
            {
                return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedUnknownSubject, $"no agent is federated with identity provider '{idp}' sub '{DisplayText.Clip(sub, 64)}'");
            }
        }
        else if (agent.Federated!.Sub != sub)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedSubjectMismatch, $"federated assertion sub '{DisplayText.Clip(sub, 64)}' is not the subject configured for the agent");
        }

        claimed = agent.Id;
        var now = _time.GetUtcNow();
        if (!token.TryGetPayloadValue<long>("exp", out var expSeconds))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedNoExp, "federated assertion has no exp");
        }

        var exp = NumericDate.FromSeconds(expSeconds);
        // Reject expired assertions. The skew is applied to our clock, never to the presented time.
        if (exp <= now - ClockSkew)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedExpired, "federated assertion expired");
        }

        // Reject assertions with time left to live than a short-lived workload token would have.
        if (exp - now > MaxLifetime + ClockSkew)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedLifetimeTooLong, "federated assertion lifetime too long (max 10m left)");
        }

        if (token.TryGetPayloadValue<long>("iat", out var iatSeconds))
        {
            var iat = NumericDate.FromSeconds(iatSeconds);
            // Reject assertions stamped as issued in the future.
            if (iat > now + ClockSkew)
            {
                return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedIssuedInFuture, "federated assertion issued in the future");
            }

            // Reject assertions issued to live long, even when presented near their end.
            if (exp - iat > MaxLifetime)
            {
                return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedLifetimeTooLong, "federated assertion lifetime too long (exp - iat over 10m)");
            }
        }

        // Reject assertions not valid yet.
        if (token.TryGetPayloadValue<long>("nbf", out var nbf) && NumericDate.FromSeconds(nbf) > now + ClockSkew)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedNotYetValid, "federated assertion not yet valid");
        }

        // Without a jti the assertion cannot be tracked: it is usable until it expires, which the bound above keeps short.
        if (!token.TryGetPayloadValue<object>("jti", out _))
        {
            return ClientAuthentication.Success(agent);
        }

        // Reject a jti that is not a usable string, and any jti this provider's assertions used before.
        if (!token.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti) || jti.Length > MaxJtiLength)
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedNoJti, "federated assertion has an unusable jti");
        }

        // jti is unique per issuer (RFC 7519 §4.1.7): the key is the provider's, not the agent's.
        var key = $"federated\n{idp}\n{jti}";
        if (!await _replay.TryUseAsync(key, exp + ClockSkew, cancellationToken))
        {
            return ClientAuthentication.Failure(claimed, RefusalCodes.FederatedReplayed, "federated assertion jti replayed");
        }

        return ClientAuthentication.Success(agent, new AssertionUsed(key, exp + ClockSkew));
    }

}
