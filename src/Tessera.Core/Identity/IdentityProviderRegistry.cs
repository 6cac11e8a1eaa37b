using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;
using Tessera.Core.Tokens;

namespace Tessera.Core.Identity;

/// <summary>
/// Validates JWTs from the configured identity providers (admins, approvers, and principals'
/// subject tokens): issuer, audience, asymmetric signature, lifetime with 60 s of skew, and type.
/// </summary>
public sealed class IdentityProviderRegistry
{
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>Types a principal's token may declare; anything else (a DPoP proof, a logout token, ...) is another kind of JWT.</summary>
    private static readonly HashSet<string> AcceptedTypes = new(StringComparer.OrdinalIgnoreCase) { "JWT", "at+jwt", "application/at+jwt" };

    private readonly Dictionary<string, IdentityProvider> _byIssuer;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <param name="providers">The configured providers.</param>
    /// <param name="time">The server's clock.</param>
    /// <param name="http">Fetches <c>jwks_uri</c> documents.</param>
    /// <param name="previous">
    /// The registry this one replaces on a configuration reload: a provider configured exactly as
    /// before keeps its fetched keys (no fetch storm against the provider at each reload); a
    /// <c>jwks_file</c> is read again, so a reload picks up a replaced key file.
    /// </param>
    public IdentityProviderRegistry(IEnumerable<IdentityProviderOptions> providers, TimeProvider time, HttpClient? http = null, IdentityProviderRegistry? previous = null)
        : this(providers.Select(p => p.JwksFile is null && previous?.FindByIssuer(p.Issuer) is { } kept && kept.Options == p
            ? kept
            : new IdentityProvider(p, p.JwksFile is { } file
                ? new StaticJwks(new JsonWebKeySet(File.ReadAllText(file)).GetSigningKeys())
                : new RemoteJwks(p.JwksUri!, http ?? new HttpClient(), time))), time)
    {
    }

    /// <summary>Providers whose keys are already at hand (tests).</summary>
    internal IdentityProviderRegistry(IEnumerable<IdentityProvider> providers, TimeProvider time)
    {
        _time = time;
        _byIssuer = providers.ToDictionary(p => p.Options.Issuer, StringComparer.Ordinal);
    }

    public IdentityProvider? FindByIssuer(string issuer) => _byIssuer.GetValueOrDefault(issuer);

    /// <summary>Validates a principal's JWT for <paramref name="use"/>; returns it, or the reason it was refused.</summary>
    public async Task<(PrincipalToken? Token, string? Reason)> ValidateAsync(string token, IdentityTokenUse use, CancellationToken cancellationToken)
    {
        if (token.Length > 16 * 1024 || !_handler.CanReadToken(token))
        {
            return (null, "not a JWT");
        }

        JsonWebToken unverified;
        try
        {
            unverified = _handler.ReadJsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            // FormatException: a segment that is not base64url (CanReadToken checks only the characters).
            return (null, "not a JWT");
        }

        if (unverified.Issuer is not { } issuer || !_byIssuer.TryGetValue(issuer, out var provider))
        {
            return (null, "issuer is not a configured identity provider");
        }

        // Reject tokens of another kind that happen to come from a trusted issuer.
        if (!string.IsNullOrEmpty(unverified.Typ) && !AcceptedTypes.Contains(unverified.Typ))
        {
            return (null, $"token type '{DisplayText.Clip(unverified.Typ, 40)}' is not an identity token");
        }

        var (expected, other) = use == IdentityTokenUse.Administration
            ? (provider.Options.AdminAudience, provider.Options.Audience)
            : (provider.Options.Audience, provider.Options.AdminAudience);
        var keys = await provider.Keys.GetKeysAsync(unverified.Kid, cancellationToken);
        var result = await _handler.ValidateTokenAsync(unverified, ValidationFor(provider.Options.Issuer, [expected], keys));
        if (!result.IsValid)
        {
            return (null, result.Exception is SecurityTokenInvalidAudienceException ? $"wrong audience: {(use == IdentityTokenUse.Administration ? "the admin API" : "delegation")} takes tokens for '{DisplayText.Clip(expected, 40)}'" : $"rejected: {result.Exception?.GetType().Name ?? "invalid"}");
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        var now = _time.GetUtcNow();
        // The skew is applied to our clock, never to the presented time, which may sit at the edge of the range.
        if (!jwt.TryGetPayloadValue<long>("exp", out var exp) || NumericDate.FromSeconds(exp) <= now - ClockSkew)
        {
            return (null, "expired");
        }

        if (jwt.TryGetPayloadValue<long>("nbf", out var nbf) && NumericDate.FromSeconds(nbf) > now + ClockSkew)
        {
            return (null, "not yet valid");
        }

        if (string.IsNullOrEmpty(jwt.Subject))
        {
            return (null, "no sub");
        }

        // Reject a token meant for both uses: an agent could receive it as a subject token and then use it as an admin.
        if (jwt.Audiences.Contains(other, StringComparer.Ordinal))
        {
            return (null, use == IdentityTokenUse.Administration
                ? "the token is also meant for delegation (its aud includes the provider's audience); the admin API takes only tokens for admin_audience"
                : "the token is also meant for the admin API (its aud includes admin_audience)");
        }

        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        var root = payload.RootElement;
        var hasMayAct = root.TryGetProperty("may_act", out var mayAct);
        var hasAct = root.TryGetProperty("act", out _);

        // Reject delegation claims on an admin credential: a token naming an actor was made to be handed to an agent.
        if (use == IdentityTokenUse.Administration && (hasMayAct || hasAct))
        {
            return (null, $"the token carries {(hasMayAct ? "may_act" : "act")}: a delegation token is never an admin or approver credential");
        }

        var mayActSub = hasMayAct && mayAct.ValueKind == JsonValueKind.Object && mayAct.TryGetProperty("sub", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return (new PrincipalToken(provider, jwt.Subject, ReadScope(root), mayActSub, hasMayAct, hasAct, NumericDate.FromSeconds(exp)), null);
    }

    /// <summary>Reads <c>scope</c> (space-delimited, RFC 8693 §4.2) or <c>scp</c> (array, common in IdPs).</summary>
    private static ScopeSet? ReadScope(JsonElement root)
    {
        if (root.TryGetProperty("scope", out var scope) && scope.ValueKind == JsonValueKind.String)
        {
            return ScopeSet.Parse(scope.GetString());
        }

        if (root.TryGetProperty("scp", out var scp))
        {
            return scp.ValueKind switch
            {
                JsonValueKind.Array => ScopeSet.Of(scp.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)),
                JsonValueKind.String => ScopeSet.Parse(scp.GetString()),
                _ => ScopeSet.Empty,
            };
        }

        return null;
    }


    /// <summary>
    /// How every JWT an identity provider or an agent signs is checked (principals' tokens here, client
    /// assertions in <see cref="FederatedAssertionValidator"/> and <see cref="ClientAssertionValidator"/>,
    /// where the agent is the issuer and its registered keys sign): that issuer, one of
    /// <paramref name="audiences"/> as exact strings, a signature by one of its keys with an
    /// allowed algorithm, an <c>exp</c>. Lifetime is left to the caller, against the injected clock.
    /// </summary>
    internal static TokenValidationParameters ValidationFor(string issuer, IEnumerable<string> audiences, IEnumerable<SecurityKey> keys) => new()
    {
        ValidIssuer = issuer,
        ValidAudiences = audiences,
        IssuerSigningKeys = keys,
        ValidAlgorithms = ClientAssertionValidator.AllowedAlgorithms,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = false,
        TryAllIssuerSigningKeys = true,
        // RFC 7519 §4.1.3: audiences are compared as exact strings; no trailing-slash leniency.
        IgnoreTrailingSlashWhenValidatingAudience = false,
    };
}
