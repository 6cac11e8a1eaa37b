using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// An OpenID Connect provider on a real loopback port for the console's sign-in: discovery, an
/// authorization endpoint that signs in <see cref="Subject"/> without asking (as a provider does for a
/// person already signed in there), a token endpoint that checks the client secret, the redirect URI
/// and the PKCE verifier (RFC 7636 S256) and redeems each code once, and its keys. Tests turn knobs to
/// make it misbehave as a broken or hostile provider would.
/// </summary>
public sealed class TestOidcProvider : IAsyncDisposable
{
    public const string ClientId = "tessera-console";
    public const string ClientSecret = "console-secret-0123456789";

    private readonly WebApplication _app;
    private readonly ECDsaSecurityKey _key = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "sso-key-1" };
    private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    private TestOidcProvider(WebApplication app, TimeProvider time)
    {
        _app = app;
        _time = time;
        Issuer = new Uri(app.Urls.First()).AbsoluteUri.TrimEnd('/');
    }

    public string Issuer { get; }

    /// <summary>Who is signed in at the provider: the next authorization answers with a code for them.</summary>
    public string Subject { get; set; } = "carol";

    /// <summary>Answer the next authorizations with <c>error=access_denied</c> (the person declined).</summary>
    public bool Deny { get; set; }

    /// <summary>Overrides what the ID token says, as a hostile or misconfigured provider would.</summary>
    public string? IdTokenAudience { get; set; }
    public string? IdTokenIssuer { get; set; }
    public string? IdTokenNonce { get; set; }
    public TimeSpan IdTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Every authorization request's query, in order.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> Authorizations { get; } = new();

    /// <summary>Every token request: its form and whether the provider accepted it.</summary>
    public ConcurrentQueue<(IReadOnlyDictionary<string, string> Form, bool Accepted, string? Error)> TokenRequests { get; } = new();

    /// <summary>The configuration lines naming this provider <c>sso</c> and the console's sign-in through it.</summary>
    public string Yaml(string secretEnv) => $$"""
        identity_providers:
          - { id: sso, issuer: "{{Issuer}}", jwks_uri: "{{Issuer}}/jwks", audience: tessera-sso }
        console:
          oidc: { idp: sso, client_id: {{ClientId}}, client_secret_env: {{secretEnv}} }
        """;

    public static async Task<TestOidcProvider> StartAsync(TimeProvider time)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TestOidcProvider? provider = null;
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = provider!.Issuer,
            ["authorization_endpoint"] = provider.Issuer + "/authorize",
            ["token_endpoint"] = provider.Issuer + "/token",
            ["jwks_uri"] = provider.Issuer + "/jwks",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "ES256" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post" },
        }));
        app.MapGet("/jwks", () => provider!.Jwks());
        app.MapGet("/authorize", IResult (HttpContext c) => provider!.Authorize(c));
        app.MapPost("/token", Task<IResult> (HttpContext c) => provider!.TokenAsync(c));
        await app.StartAsync();
        provider = new TestOidcProvider(app, time);
        return provider;
    }

    private IResult Jwks()
    {
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(_key.ECDsa.ExportParameters(false))) { KeyId = _key.KeyId });
        return Results.Text($$"""{"keys":[{"kty":"EC","crv":"{{jwk.Crv}}","x":"{{jwk.X}}","y":"{{jwk.Y}}","kid":"{{jwk.Kid}}","use":"sig","alg":"ES256"}]}""", "application/json");
    }

    private IResult Authorize(HttpContext context)
    {
        var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        Authorizations.Enqueue(query);
        var redirect = query.GetValueOrDefault("redirect_uri") ?? "";
        var state = Uri.EscapeDataString(query.GetValueOrDefault("state") ?? "");
        if (query.GetValueOrDefault("client_id") != ClientId || !redirect.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))
        {
            return Results.BadRequest("unknown client or redirect_uri");
        }

        if (Deny)
        {
            return Results.Redirect($"{redirect}?error=access_denied&state={state}");
        }

        var code = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(24));
        _codes[code] = new Grant(Subject, redirect, query.GetValueOrDefault("code_challenge"), query.GetValueOrDefault("code_challenge_method"), query.GetValueOrDefault("nonce"));
        return Results.Redirect($"{redirect}?code={code}&state={state}");
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var form = (await context.Request.ReadFormAsync()).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        IResult Refuse(string error)
        {
            TokenRequests.Enqueue((form, false, error));
            return Results.Json(new { error }, statusCode: 400);
        }

        var (clientId, secret) = ClientOf(context, form);
        if (clientId != ClientId || secret != ClientSecret)
        {
            return Refuse("invalid_client");
        }

        if (form.GetValueOrDefault("grant_type") != "authorization_code" || !_codes.TryRemove(form.GetValueOrDefault("code") ?? "", out var grant))
        {
            return Refuse("invalid_grant");
        }

        // RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, and only S256 here.
        var verifier = form.GetValueOrDefault("code_verifier");
        if (grant.Method != "S256" || grant.Challenge is null || verifier is null
            || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) != grant.Challenge
            || form.GetValueOrDefault("redirect_uri") != grant.RedirectUri)
        {
            return Refuse("invalid_grant");
        }

        TokenRequests.Enqueue((form, true, null));
        var now = _time.GetUtcNow();
        var claims = new Dictionary<string, object> { ["sub"] = grant.Subject };
        if ((IdTokenNonce ?? grant.Nonce) is { } nonce)
        {
            claims["nonce"] = nonce;
        }

        var idToken = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = IdTokenIssuer ?? Issuer,
            Audience = IdTokenAudience ?? ClientId,
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            Expires = (now + IdTokenLifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha256),
        });
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(24)),
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["id_token"] = idToken,
        });
    }

    private static (string? ClientId, string? Secret) ClientOf(HttpContext context, Dictionary<string, string> form)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..])).Split(':', 2);
            return (Uri.UnescapeDataString(pair[0]), pair.Length == 2 ? Uri.UnescapeDataString(pair[1]) : null);
        }

        return (form.GetValueOrDefault("client_id"), form.GetValueOrDefault("client_secret"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.ECDsa.Dispose();
    }

    private sealed record Grant(string Subject, string RedirectUri, string? Challenge, string? Method, string? Nonce);
}
