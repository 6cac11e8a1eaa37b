using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Tessera.Core.Approvals;
using Tessera.Core.Configuration;
using Tessera.Core.Protocol;

namespace Tessera.Server.Console;

/// <summary>
/// Signing in to the console through the identity provider named by <c>console.oidc</c>: ASP.NET Core's
/// OpenID Connect handler runs the authorization code flow with PKCE (state, nonce, the code exchange and
/// the ID token's signature, issuer, audience and lifetime are its work); Tessera only decides who the
/// identified person is (<c>{idp, sub}</c>, an admin or an approver by <c>admins</c> and
/// <c>approver_groups</c>) and starts the console's own session. No cookie scheme is registered: the
/// handler's ticket becomes the console session at once and is discarded.
/// </summary>
internal static partial class ConsoleOidc
{
    public const string Scheme = "tessera-console-oidc";
    public const string StartPath = "/console/sign-in/oidc";
    public const string CallbackPath = "/console/oidc/callback";

    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);

    private const string Failed = "Signing in with the identity provider did not complete. Try again, or sign in with a token.";

    /// <summary>Registers the handler when <c>console.oidc</c> is configured; the client secret is read from its environment variable.</summary>
    public static void Add(IServiceCollection services, TesseraConfig config)
    {
        if (config.Console.Oidc is not { } oidc)
        {
            return;
        }

        var secret = Environment.GetEnvironmentVariable(oidc.ClientSecretEnv);
        if (string.IsNullOrEmpty(secret))
        {
            throw new InvalidOperationException(
                $"console.oidc.client_secret_env names {oidc.ClientSecretEnv}, which is not set: set it to the console's client secret at the identity provider '{oidc.Idp}'");
        }

        var secure = !ConsoleSession.IsLoopback(config.Server.Listen);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.AddOptions<OpenIdConnectOptions>(Scheme).Configure(o =>
        {
            o.MetadataAddress = oidc.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";

            // Plain http to the provider is only possible for loopback or an explicit allow_insecure (ConfigLoader refuses the rest).
            o.RequireHttpsMetadata = oidc.Issuer.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            o.ClientId = oidc.ClientId;
            o.ClientSecret = secret;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.UsePkce = true;

            // The answer comes back as a top-level GET, so the state and nonce cookies can be SameSite=Lax
            // (form_post would need SameSite=None).
            o.ResponseMode = OpenIdConnectResponseMode.Query;
            o.CallbackPath = CallbackPath;
            o.Scope.Clear();
            o.Scope.Add(OpenIdConnectScope.OpenId);
            o.MapInboundClaims = false;
            o.SaveTokens = false;
            o.GetClaimsFromUserInfoEndpoint = false;
            o.DisableTelemetry = true;
            o.BackchannelTimeout = TimeSpan.FromSeconds(10);
            o.RemoteAuthenticationTimeout = TimeSpan.FromMinutes(10);
            o.TokenValidationParameters.ValidIssuer = oidc.Issuer;
            o.TokenValidationParameters.ValidAudience = oidc.ClientId;
            foreach (var cookie in new[] { o.CorrelationCookie, o.NonceCookie })
            {
                cookie.HttpOnly = true;
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = secure ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            }

            o.CorrelationCookie.Name = "tessera-console-oidc-state.";
            o.NonceCookie.Name = "tessera-console-oidc-nonce.";
            // The redirect URI is built from the configured issuer, as every URL Tessera names itself by, never from
            // the request's Host header: behind a TLS proxy the request says http, and a forged Host must not steer the code.
            var redirectUri = config.Server.Issuer + CallbackPath;
            o.Events.OnRedirectToIdentityProvider = context =>
            {
                context.ProtocolMessage.RedirectUri = redirectUri;
                return Task.CompletedTask;
            };
            o.Events.OnTicketReceived = TicketReceivedAsync;
            o.Events.OnRemoteFailure = RemoteFailureAsync;
            o.Events.OnAccessDenied = AccessDeniedAsync;
        });
        services.AddOptions<OpenIdConnectOptions>(Scheme).Validate(o =>
        {
            o.Validate(Scheme);
            return true;
        }).Configure<TimeProvider>((o, time) =>
        {
            // The state's expiry and the ID token's lifetime on the server's clock, as every other time in Tessera.
            o.TimeProvider = time;
            o.TokenValidationParameters.RequireExpirationTime = true;
            o.TokenValidationParameters.LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } exp && exp > now - Skew && (notBefore is not { } nbf || nbf <= now + Skew);
            };
        });
    }

    /// <summary>
    /// The start link and the callback, each running the OpenID Connect handler directly. No
    /// authentication scheme is registered: with one, ASP.NET Core would put its authentication
    /// middleware in front of every request of the server (the token endpoint and the proxy included)
    /// and make this handler everyone's default.
    /// </summary>
    public static void Map(RouteGroupBuilder console, TesseraConfig config)
    {
        if (config.Console.Oidc is null)
        {
            return;
        }

        console.MapGet("/sign-in/oidc", async Task (HttpContext context) =>
            await (await HandlerAsync(context)).ChallengeAsync(new AuthenticationProperties { RedirectUri = "/console" }));
        console.MapGet("/oidc/callback", async Task (HttpContext context) =>
        {
            // The handler answers every callback itself: the events below write the page, success or refusal.
            if (!await (await HandlerAsync(context)).HandleRequestAsync())
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }
        });
    }

    private static async Task<OpenIdConnectHandler> HandlerAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var handler = new OpenIdConnectHandler(services.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>(), services.GetRequiredService<ILoggerFactory>(),
            System.Text.Encodings.Web.HtmlEncoder.Default, System.Text.Encodings.Web.UrlEncoder.Default);
        await handler.InitializeAsync(new AuthenticationScheme(Scheme, displayName: null, typeof(OpenIdConnectHandler)), context);
        return handler;
    }

    private static async Task TicketReceivedAsync(TicketReceivedContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        var oidc = http.RequestServices.GetRequiredService<TesseraConfig>().Console.Oidc!;
        var sub = context.Principal?.FindFirst("sub")?.Value;
        if (sub is null || !IsSubject(sub))
        {
            await RefuseAsync(http, "the identity provider's ID token carries no usable sub claim", StatusCodes.Status401Unauthorized);
            return;
        }

        // Admins as the running configuration lists them (a reload may have changed them).
        var config = http.RequestServices.GetRequiredService<LiveConfig>().Config;
        var caller = new Approver($"{oidc.Idp}:{sub}", oidc.Idp, sub);
        var isAdmin = config.Admins.Any(a => a.Idp == oidc.Idp && a.Sub == sub);
        var user = await ConsoleEndpoints.StartSessionAsync(http, caller, isAdmin, $"OpenID Connect ({oidc.Idp})");
        if (user is null)
        {
            await ConsoleEndpoints.SignInForm(http, ConsoleEndpoints.NeitherAdminNorApprover, StatusCodes.Status403Forbidden).ExecuteAsync(http);
            return;
        }

        // Not a redirect: the browser arrived here from the provider's site, and would not send the
        // SameSite=Strict session cookie along the rest of that redirect chain.
        await ConsoleEndpoints.Page<MessagePage>(http, user, StatusCodes.Status200OK, new()
        {
            [nameof(MessagePage.Title)] = "Signed in",
            [nameof(MessagePage.Message)] = $"Signed in as {user.Name}.",
            [nameof(MessagePage.ContinueTo)] = ConsoleEndpoints.LandingPath(user),
        }).ExecuteAsync(http);
    }

    private static async Task AccessDeniedAsync(AccessDeniedContext context)
    {
        context.HandleResponse();
        await RefuseAsync(context.HttpContext, "the identity provider answered access_denied", StatusCodes.Status401Unauthorized);
    }

    /// <summary>
    /// State or nonce mismatch, an error from the provider, a refused code exchange or ID token: nobody was
    /// identified. Recorded with the failure's kind only (the provider's own text is not trusted for the log).
    /// </summary>
    private static async Task RemoteFailureAsync(RemoteFailureContext context)
    {
        context.HandleResponse();
        var error = context.Failure?.Data["error"] as string;
        var kind = error is not null && ErrorCode().IsMatch(error) ? $"the provider answered {error}" : context.Failure?.GetType().Name ?? "unknown";
        LogFailed(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleOidc)), kind);
        await RefuseAsync(context.HttpContext, $"OpenID Connect sign-in failed: {kind}", StatusCodes.Status401Unauthorized);
    }

    private static async Task RefuseAsync(HttpContext http, string reason, int status)
    {
        await ConsoleEndpoints.RefuseSignInAsync(http, principal: null, reason, RefusalCodes.ConsoleOidcFailed);
        await ConsoleEndpoints.SignInForm(http, Failed, status).ExecuteAsync(http);
    }

    // A subject goes into names, audit events and pages: printable, bounded (OpenID Connect Core §2 allows 255 ASCII characters).
    private static bool IsSubject(string sub) => sub.Length is > 0 and <= 255 && sub.All(c => c is > ' ' and < (char)0x7f);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Console OpenID Connect sign-in failed: {Kind}")]
    private static partial void LogFailed(ILogger logger, string kind);

    [GeneratedRegex("^[a-z_]{1,64}$")]
    private static partial Regex ErrorCode();
}
