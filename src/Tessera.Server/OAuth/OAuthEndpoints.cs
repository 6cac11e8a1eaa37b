using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Dpop;
using Tessera.Core.Identity;
using Tessera.Core.Protocol;
using Tessera.Core.Revocation;
using Tessera.Core.Tokens;
using Tessera.Server.Hosting;

namespace Tessera.Server.OAuth;

/// <summary>The OAuth endpoints: token (RFC 6749/8693/7523), introspection (RFC 7662), revocation (RFC 7009).</summary>
/// <remarks>
/// An <see cref="AuditWriteException"/> is never caught here: an action or refusal whose event cannot
/// be written goes on to the host's exception handler, the one place that answers it (503
/// <c>server_error</c>, <see cref="OAuthError.ServerError"/>).
/// </remarks>
internal static class OAuthEndpoints
{
    private static readonly Refusal TokenMissing = new(RefusalCodes.TokenMissing, OAuthError.InvalidRequest("The 'token' parameter is missing."), "token parameter missing");

    private static readonly Refusal NotYours = new(RefusalCodes.RevocationNotYours,
        OAuthError.UnauthorizedClient("This token was not issued to you, and you do not act in it."), "token not issued to the caller");

    public static void MapOAuth(this IEndpointRouteBuilder app)
    {
        app.MapPost(TokenService.TokenEndpointPath, TokenAsync).WithMetadata(WritesOwnErrorBodies.Instance);
        app.MapPost("/oauth/introspect", IntrospectAsync).WithMetadata(WritesOwnErrorBodies.Instance);
        app.MapPost("/oauth/revoke", RevokeAsync).WithMetadata(WritesOwnErrorBodies.Instance);
    }

    private static async Task TokenAsync(HttpContext context, TokenService tokens, TesseraConfig config, DpopNonces nonces, OAuthRefusals refusals)
    {
        var (form, malformed) = await OAuthForm.ReadAsync(context.Request, context.RequestAborted);
        if (form is null)
        {
            await refusals.RefuseAsync(context, AuditTypes.TokenDenied, malformed!, unauthenticated: true);
            return;
        }

        var (credentials, badCredentials) = ClientAuthenticationReader.Read(context.Request, form);
        if (credentials is null)
        {
            await refusals.RefuseAsync(context, AuditTypes.TokenDenied, badCredentials!, unauthenticated: true);
            return;
        }

        var dpop = context.Request.Headers["DPoP"];
        var request = new TokenRequest(form.Parameters, form.GetAll("resource"), form.GetAll("audience"), credentials, context.TraceIdentifier)
        {
            DpopProof = dpop.Count == 1 ? dpop[0] : null,
            DpopProofCount = dpop.Count,
        };
        var result = await tokens.HandleAsync(request, context.RequestAborted);
        if (config.Dpop.UseNonce && dpop.Count > 0)
        {
            context.Response.Headers["DPoP-Nonce"] = nonces.Current();
        }

        if (!result.Succeeded)
        {
            TesseraMetrics.TokensDenied.WithLabels(result.Error!.Code).Inc();
            await OAuthResponses.WriteErrorAsync(context, result.Error!);
            return;
        }

        var response = result.Value!;
        TesseraMetrics.TokensIssued.WithLabels(form.Get("grant_type")!).Inc();
        await OAuthResponses.WriteJsonAsync(context, 200, w =>
        {
            w.WriteString("access_token", response.AccessToken);
            w.WriteString("token_type", response.TokenType);
            w.WriteNumber("expires_in", response.ExpiresIn);
            w.WriteString("scope", response.Scope);
            if (response.IssuedTokenType is not null)
            {
                w.WriteString("issued_token_type", response.IssuedTokenType);
            }
        });
    }

    private static async Task IntrospectAsync(HttpContext context, IntrospectionService introspection, OAuthCallerAuthenticator callers, OAuthRefusals refusals)
    {
        var (form, malformed) = await OAuthForm.ReadAsync(context.Request, context.RequestAborted);
        if (form is null)
        {
            await refusals.RefuseAsync(context, AuditTypes.IntrospectionDenied, malformed!, unauthenticated: true);
            return;
        }

        var (caller, error) = await callers.AuthenticateAsync(context, form, AuditTypes.IntrospectionDenied);
        if (caller is null)
        {
            await OAuthResponses.WriteErrorAsync(context, error!);
            return;
        }

        var token = form.Get("token");
        if (token is null)
        {
            await refusals.RefuseAsync(context, AuditTypes.IntrospectionDenied, TokenMissing, unauthenticated: false, caller.Agent?.Id);
            return;
        }

        if (introspection.RefuseIfStale() is { } stale)
        {
            await refusals.RefuseAsync(context, AuditTypes.IntrospectionDenied, stale, unauthenticated: false, caller.Agent?.Id);
            return;
        }

        var claims = await introspection.IntrospectAsync(caller, token, context.TraceIdentifier, context.RequestAborted);

        TesseraMetrics.Introspections.WithLabels(claims is null ? "inactive" : "active").Inc();
        await OAuthResponses.WriteJsonAsync(context, 200, w => WriteIntrospection(w, claims));
    }

    /// <summary>RFC 7662 §2.2; anything inactive is exactly <c>{"active":false}</c>.</summary>
    private static void WriteIntrospection(Utf8JsonWriter w, AccessTokenClaims? c)
    {
        w.WriteBoolean("active", c is not null);
        if (c is null)
        {
            return;
        }

        w.WriteString("iss", c.Issuer);
        w.WriteString("sub", c.Subject);
        w.WriteString("aud", c.Audience);
        w.WriteString("client_id", c.ClientId);
        w.WriteString("scope", c.Scope.ToString());
        w.WriteString("jti", c.Jti);
        w.WriteNumber("iat", c.IssuedAt);
        w.WriteNumber("exp", c.ExpiresAt);
        w.WriteString("token_type", c.Jkt is null ? "Bearer" : "DPoP");
        if (c.Jkt is not null)
        {
            // RFC 9449 §6.2: a resource server learns the binding from introspection.
            w.WriteStartObject("cnf");
            w.WriteString("jkt", c.Jkt);
            w.WriteEndObject();
        }

        if (c.MaxUses is { } maxUses)
        {
            w.WriteNumber("max_uses", maxUses);
        }

        if (c.ActorChain.Count > 0)
        {
            w.WritePropertyName("act");
            AccessTokenClaims.WriteActor(w, c.ActorChain, c.ActorChain.Count - 1);
        }

        if (c.Mission is not null)
        {
            w.WriteString("mission", c.Mission);
        }

        if (c.Purpose is not null)
        {
            w.WriteString("purpose", c.Purpose);
        }
    }

    private static async Task RevokeAsync(HttpContext context, AccessTokenValidator validator, RevocationService revocations, OAuthCallerAuthenticator callers,
        OAuthRefusals refusals)
    {
        var (form, malformed) = await OAuthForm.ReadAsync(context.Request, context.RequestAborted);
        if (form is null)
        {
            await refusals.RefuseAsync(context, AuditTypes.RevocationDenied, malformed!, unauthenticated: true);
            return;
        }

        var (caller, error) = await callers.AuthenticateAsync(context, form, AuditTypes.RevocationDenied);
        if (caller is null)
        {
            await OAuthResponses.WriteErrorAsync(context, error!);
            return;
        }

        var token = form.Get("token");
        if (token is null)
        {
            await refusals.RefuseAsync(context, AuditTypes.RevocationDenied, TokenMissing, unauthenticated: false, caller.Agent?.Id);
            return;
        }

        var validation = await validator.ValidateAsync(token, context.RequestAborted);

        // RFC 7009 §2.2: invalid, expired and already revoked tokens get 200; there is nothing to do.
        if (validation.IsActive)
        {
            var claims = validation.Claims!;
            if (caller.Agent is { } agent && claims.ClientId != agent.Id && !claims.ActorChain.Contains(agent.Id))
            {
                await refusals.RefuseAsync(context, AuditTypes.RevocationDenied, NotYours with { Reason = $"token {claims.Jti} was not issued to it, and it does not act in it" },
                    unauthenticated: false, agent.Id);
                return;
            }

            await revocations.RevokeTokenAsync(claims, caller.Name, context.TraceIdentifier, context.RequestAborted);

            TesseraMetrics.Revocations.WithLabels("token").Inc();
        }

        context.Response.StatusCode = 200;
        context.Response.Headers.CacheControl = "no-store";
    }
}
