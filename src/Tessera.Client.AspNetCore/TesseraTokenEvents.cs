using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Client.AspNetCore;

/// <summary>
/// What JwtBearer cannot express by configuration, hooked into its events: the <c>DPoP</c> authorization
/// scheme and proof (RFC 9449), the refusal of a bound token sent as Bearer, revocation through
/// introspection, the actor chain on the identity, and challenges that say which check failed.
/// Signature, issuer, audience, <c>typ</c>, algorithm and lifetime stay JwtBearer's (see <see cref="TesseraJwtBearerSetup"/>).
/// </summary>
internal sealed class TesseraTokenEvents(TesseraTokenOptions options, DpopProof dpop, TokenIntrospection? introspection) : JwtBearerEvents
{
    private const string Bearer = "Bearer";
    private const string DPoP = "DPoP";
    private const int MaxActorDepth = 32;

    /// <summary>No token of Tessera's is this long (its own validator's bound); longer input is refused before parsing.</summary>
    private const int MaxTokenLength = 8 * 1024;
    private static readonly object PresentedAs = new();
    private static readonly string DpopChallenge = $"{DPoP} algs=\"{string.Join(' ', DpopProof.Algorithms)}\"";

    public override async Task MessageReceived(MessageReceivedContext context)
    {
        var headers = context.Request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return;
        }

        // Reject two Authorization headers: which one would be checked is a guess.
        if (headers.Count > 1)
        {
            Refuse(context, 400, Bearer, "invalid_request", "more than one Authorization header");
            return;
        }

        var value = headers[0] ?? "";
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? value : value[..space];
        string presented;
        if (scheme.Equals(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            presented = Bearer;
        }
        else if (scheme.Equals(DPoP, StringComparison.OrdinalIgnoreCase))
        {
            presented = DPoP;
        }
        else
        {
            // Another scheme (Basic, ...) is not ours to judge.
            context.NoResult();
            return;
        }

        var token = space < 0 ? "" : value[(space + 1)..].Trim();
        if (token.Length == 0 || token.Contains(' ', StringComparison.Ordinal))
        {
            Refuse(context, 400, presented, "invalid_request", "the Authorization header is malformed");
            return;
        }

        // Reject what cannot be one of Tessera's tokens before any parsing.
        if (token.Length > MaxTokenLength)
        {
            Refuse(context, 401, presented, "invalid_token", "the token is not a JWT");
            return;
        }

        context.HttpContext.Items[PresentedAs] = presented;
        context.Token = token;
        await RefreshKeysIfUnknownAsync(context, token);
    }

    /// <summary>
    /// Fetches the metadata and JWKS again before validation when the token names a key id the tool has not
    /// seen: Tessera publishes a rotated key only <c>signing_keys.publish_ahead</c> (1 minute) before it signs,
    /// while JwtBearer asks for a refresh on an unknown key only after refusing the request at hand. Refreshes are at most one per <see cref="TesseraMetadata.RefreshInterval"/>,
    /// so made-up key ids cannot make the tool hammer Tessera.
    /// </summary>
    private static async Task RefreshKeysIfUnknownAsync(MessageReceivedContext context, string token)
    {
        if (context.Options.ConfigurationManager is not { } manager)
        {
            return;
        }

        string? kid;
        try
        {
            kid = new JsonWebToken(token).Kid;
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException)
        {
            // Not a JWT: JwtBearer refuses it.
            return;
        }

        try
        {
            var configuration = await manager.GetConfigurationAsync(context.HttpContext.RequestAborted);
            if (!string.IsNullOrEmpty(kid) && !configuration.SigningKeys.Any(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal)))
            {
                manager.RequestRefresh();
                await manager.GetConfigurationAsync(context.HttpContext.RequestAborted);
            }
        }
        catch (InvalidOperationException)
        {
            Refuse(context, 503, Presented(context.HttpContext), "temporarily_unavailable", "Tessera's metadata or signing keys could not be fetched");
        }
    }

    public override Task AuthenticationFailed(AuthenticationFailedContext context)
    {
        var scheme = Presented(context.HttpContext);
        // Without the issuer's metadata or keys nothing can be checked: that is Tessera unreachable, not a bad token.
        if (context.Exception is InvalidOperationException)
        {
            Refuse(context, 503, scheme, "temporarily_unavailable", "Tessera's metadata or signing keys could not be fetched");
            return Task.CompletedTask;
        }

        var description = context.Exception switch
        {
            SecurityTokenExpiredException or SecurityTokenNotYetValidException or SecurityTokenInvalidLifetimeException or SecurityTokenNoExpirationException => "the token has expired or is not yet valid",
            SecurityTokenInvalidAudienceException => "the token is not for this tool",
            SecurityTokenInvalidIssuerException => "the token was not issued by this tool's Tessera",
            SecurityTokenInvalidTypeException => "the token is not an access token (typ must be at+jwt)",
            SecurityTokenInvalidAlgorithmException => "the token must be signed with ES256",
            SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "the token's signature does not verify",
            SecurityTokenMalformedException => "the token is not a JWT",
            _ => "the token is not valid",
        };
        Refuse(context, 401, scheme, "invalid_token", description);
        return Task.CompletedTask;
    }

    public override async Task TokenValidated(TokenValidatedContext context)
    {
        if (context.SecurityToken is not JsonWebToken jwt || context.Principal?.Identity is not ClaimsIdentity identity)
        {
            Refuse(context, 401, Bearer, "invalid_token", "the token is not valid");
            return;
        }

        var presented = Presented(context.HttpContext);
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
        var claims = payload.RootElement;
        // Reject a token limited to a number of uses or to one exact request (an approval's max_uses and
        // authorization_details): Tessera's proxy counts uses durably and compares the request byte for byte;
        // a tool validating alone can do neither, so accepting the token would lift the approval's limits.
        if (claims.TryGetProperty("max_uses", out _) || claims.TryGetProperty("authorization_details", out _))
        {
            Refuse(context, 401, presented, "invalid_token", "the token is limited to uses or one exact request that only Tessera's proxy enforces; send it through the proxy");
            return;
        }

        var jkt = claims.TryGetProperty("cnf", out var cnf) && cnf.ValueKind == JsonValueKind.Object
            && cnf.TryGetProperty("jkt", out var jktValue) && jktValue.ValueKind == JsonValueKind.String ? jktValue.GetString() : null;

        if (jkt is null)
        {
            // Reject an unbound token where DPoP is required, and one presented with the DPoP scheme (as Tessera's proxy does).
            if (options.RequireDPoP || presented == DPoP)
            {
                Refuse(context, 401, DPoP, "invalid_token", "this tool requires a DPoP-bound token");
                return;
            }
        }
        else
        {
            // Reject a bound token sent as Bearer: whoever holds a copy could use it without the key.
            if (presented != DPoP)
            {
                Refuse(context, 401, DPoP, "invalid_token", "the token is DPoP-bound: send it with the DPoP scheme and a proof");
                return;
            }

            var proofs = context.Request.Headers["DPoP"];
            if (proofs.Count != 1 || string.IsNullOrEmpty(proofs[0]))
            {
                Refuse(context, 401, DPoP, "invalid_dpop_proof", "exactly one DPoP proof header is required");
                return;
            }

            var request = context.Request;
            var uri = $"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}{request.Path.ToUriComponent()}";
            var (proofJkt, refusal) = await dpop.ValidateAsync(proofs[0]!, request.Method, uri, jwt.EncodedToken);
            if (refusal is not null)
            {
                Refuse(context, 401, DPoP, "invalid_dpop_proof", refusal);
                return;
            }

            // Reject a proof made with another key than the one the token is bound to.
            if (!string.Equals(proofJkt, jkt, StringComparison.Ordinal))
            {
                Refuse(context, 401, DPoP, "invalid_dpop_proof", "the DPoP proof's key is not the key the token is bound to");
                return;
            }
        }

        if (introspection is not null)
        {
            var jti = jwt.Id;
            if (string.IsNullOrEmpty(jti))
            {
                Refuse(context, 401, presented, "invalid_token", "the token has no jti");
                return;
            }

            var outcome = IntrospectionOutcome.Unavailable;
            if (context.Options.ConfigurationManager is { } manager
                && await manager.GetConfigurationAsync(context.HttpContext.RequestAborted) is OpenIdConnectConfiguration { IntrospectionEndpoint: { Length: > 0 } endpoint }
                && Uri.TryCreate(endpoint, UriKind.Absolute, out var endpointUri)
                // The client secret goes there: never in clear text unless the whole metadata may be.
                && (endpointUri.Scheme == Uri.UriSchemeHttps || (!options.RequireHttpsMetadata && endpointUri.Scheme == Uri.UriSchemeHttp)))
            {
                outcome = await introspection.CheckAsync(jwt.EncodedToken, jti, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), endpointUri, context.HttpContext.RequestAborted);
            }

            if (outcome == IntrospectionOutcome.Unavailable)
            {
                Refuse(context, 503, presented, "temporarily_unavailable", "Tessera could not be asked whether the token is revoked; it is refused until it can");
                return;
            }

            if (outcome == IntrospectionOutcome.Inactive)
            {
                Refuse(context, 401, presented, "invalid_token", "the token has been revoked");
                return;
            }
        }

        AddActors(identity, claims);
    }

    public override Task Challenge(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var response = context.Response;
        var refusal = context.HttpContext.Items[TokenRefusal.Key] as TokenRefusal;
        if (refusal is null)
        {
            // No token: say which schemes are accepted (RFC 6750 §3, RFC 9449 §7.1).
            response.StatusCode = 401;
            if (!options.RequireDPoP)
            {
                response.Headers.Append("WWW-Authenticate", Bearer);
            }

            response.Headers.Append("WWW-Authenticate", DpopChallenge);
            return Task.CompletedTask;
        }

        response.StatusCode = refusal.Status;
        response.Headers.CacheControl = "no-store";
        if (refusal.Status == 503)
        {
            // Not the token's fault: no challenge, a retry later may pass.
            response.Headers.RetryAfter = "5";
            return Task.CompletedTask;
        }

        var challenge = $"{refusal.Scheme} error=\"{refusal.Error}\", error_description=\"{refusal.Description}\"";
        response.Headers.Append("WWW-Authenticate", refusal.Scheme == DPoP ? challenge + ", " + DpopChallenge[(DPoP.Length + 1)..] : challenge);
        return Task.CompletedTask;
    }

    public override Task Forbidden(ForbiddenContext context)
    {
        // RFC 6750 §3.1: the token is valid but lacks a scope this endpoint needs.
        context.Response.Headers.Append("WWW-Authenticate", $"{Presented(context.HttpContext)} error=\"insufficient_scope\"");
        return Task.CompletedTask;
    }

    private static string Presented(HttpContext context) => context.Items[PresentedAs] as string ?? Bearer;

    private static void Refuse(ResultContext<JwtBearerOptions> context, int status, string scheme, string error, string description)
    {
        context.HttpContext.Items[TokenRefusal.Key] = new TokenRefusal(status, scheme, error, description);
        context.Fail(description);
    }

    /// <summary>The <c>act</c> chain as <see cref="ClaimsIdentity.Actor"/>: the current actor, then the one it acted for, and so on.</summary>
    private static void AddActors(ClaimsIdentity identity, JsonElement claims)
    {
        var outer = identity;
        var element = claims;
        for (var depth = 0; depth < MaxActorDepth && element.TryGetProperty("act", out var act) && act.ValueKind == JsonValueKind.Object; depth++)
        {
            var actor = new ClaimsIdentity(
                act.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => new Claim(p.Name, p.Value.GetString()!)),
                authenticationType: null, nameType: TesseraClaimTypes.Subject, roleType: null);
            outer.Actor = actor;
            outer = actor;
            element = act;
        }
    }
}
