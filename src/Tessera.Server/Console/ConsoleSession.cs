using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Configuration;

namespace Tessera.Server.Console;

/// <summary>
/// The console's session: a cookie of its own authentication scheme (the admin API keeps its bearer
/// tokens and never reads it), encrypted by keys held in memory, so sessions end when the server stops.
/// </summary>
internal static class ConsoleSession
{
    public const string Scheme = "tessera-console";

    /// <summary>A session unused this long ends; each request within it extends it.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Registers the cookie scheme and antiforgery. Cookies are <c>Secure</c> (and named <c>__Host-</c>)
    /// unless the server listens on a loopback address, where a browser reaches it over plain HTTP.
    /// </summary>
    public static void Add(IServiceCollection services, TesseraConfig config, TimeProvider time)
    {
        // One scheme alone would become every request's default, and the authentication middleware
        // would then read cookies on the token endpoint and the proxy; the console authenticates itself.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        var secure = !IsLoopback(config.Server.Listen);
        services.AddDataProtection();
        services.Configure<KeyManagementOptions>(o =>
        {
            o.XmlRepository = new ConsoleKeys();

            // The keys never leave memory: there is nothing to encrypt them against.
            o.XmlEncryptor = new NullXmlEncryptor();
        });
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = secure ? "__Host-tessera-console" : "tessera-console";
            o.Cookie.Path = "/";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = secure ? CookieSecurePolicy.Always : CookieSecurePolicy.None;
            o.ExpireTimeSpan = IdleTimeout;
            o.SlidingExpiration = true;
            o.LoginPath = "/console/sign-in";
            o.TimeProvider = time;
        });
        services.AddAntiforgery(o =>
        {
            // Antiforgery refuses to work over plain HTTP with a Secure cookie, and a server beyond loopback
            // may see plain HTTP from the TLS proxy in front of it. This cookie admits nothing alone: a
            // form also needs the request token, which is bound to the session's user.
            o.Cookie.Name = "tessera-console-form";
            o.Cookie.Path = "/console";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__form";

            // ConsoleHeaders sends DENY (and frame-ancestors 'none'), stricter than antiforgery's SAMEORIGIN.
            o.SuppressXFrameOptionsHeader = true;
        });
    }

    /// <summary>The signed-in user, or null (no cookie, an expired or forged one).</summary>
    public static async Task<ConsoleUser?> CurrentAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(Scheme);
        if (!result.Succeeded)
        {
            return null;
        }

        // Antiforgery tokens are bound to this user: a form rendered for one session fails in another.
        context.User = result.Principal;
        return ConsoleUser.From(result.Principal);
    }

    private static bool IsLoopback(Uri listen) =>
        listen.IsLoopback || (IPAddress.TryParse(listen.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
