using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;

namespace Tessera.Core.Identity;

/// <summary>
/// Validates JWTs from the configured identity providers (admins now; principals for token
/// exchange). Keys come from <c>jwks_file</c>; a provider configured with <c>jwks_uri</c> has no keys
/// until remote key fetching lands, so its tokens are refused (fail closed).
/// </summary>
public sealed class IdentityProviderRegistry
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);
    private static readonly IReadOnlyList<string> AllowedAlgorithms = ClientAssertionValidator.AllowedAlgorithms;

    private readonly Dictionary<string, IdentityProvider> _byIssuer;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public IdentityProviderRegistry(IEnumerable<IdentityProviderOptions> providers, TimeProvider time)
    {
        _time = time;
        _byIssuer = providers.ToDictionary(
            p => p.Issuer,
            p => new IdentityProvider(p, p.JwksFile is { } file ? new JsonWebKeySet(File.ReadAllText(file)).GetSigningKeys() : []),
            StringComparer.Ordinal);
    }

    /// <summary>Validates a principal's JWT; returns the provider and subject, or a reason it was refused.</summary>
    public async Task<(IdentityProvider? Provider, string? Subject, string? Reason)> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (token.Length > 16 * 1024 || !_handler.CanReadToken(token))
        {
            return (null, null, "not a JWT");
        }

        string issuer;
        try
        {
            issuer = _handler.ReadJsonWebToken(token).Issuer;
        }
        catch (ArgumentException)
        {
            return (null, null, "not a JWT");
        }

        if (issuer is null || !_byIssuer.TryGetValue(issuer, out var provider))
        {
            return (null, null, "issuer is not a configured identity provider");
        }

        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = provider.Options.Issuer,
            ValidAudience = provider.Options.Audience,
            IssuerSigningKeys = provider.Keys,
            ValidAlgorithms = AllowedAlgorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = false,
            TryAllIssuerSigningKeys = true,
        });
        if (!result.IsValid)
        {
            return (null, null, $"rejected: {result.Exception?.GetType().Name ?? "invalid"}");
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        var now = _time.GetUtcNow();
        // The skew is applied to our clock, never to the presented time, which may sit at the edge of the range.
        if (!jwt.TryGetPayloadValue<long>("exp", out var exp) || NumericDate.FromSeconds(exp) <= now - ClockSkew)
        {
            return (null, null, "expired");
        }

        if (jwt.TryGetPayloadValue<long>("nbf", out var nbf) && NumericDate.FromSeconds(nbf) > now + ClockSkew)
        {
            return (null, null, "not yet valid");
        }

        return string.IsNullOrEmpty(jwt.Subject) ? (null, null, "no sub") : (provider, jwt.Subject, null);
    }
}
