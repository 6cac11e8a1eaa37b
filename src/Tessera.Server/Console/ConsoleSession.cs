using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Approvals;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Sessions;
using Tessera.Core.Vault;

namespace Tessera.Server.Console;

/// <summary>
/// The console's session: a cookie holding who signed in (never the token), encrypted with a key
/// derived from the master key (<see cref="ConsoleKeys"/>), so it is valid on every node and across
/// restarts; the rights it names are checked against the configuration on every request. It is the console's own, not an authentication
/// scheme: a registered scheme would bring ASP.NET Core's authentication middleware to every request,
/// the token endpoint and the proxy included, and the admin API keeps its bearer tokens. When a session
/// ends (idle, too old, signed out, its person revoked) is Core's rule (<see cref="ConsoleSessions"/>).
/// </summary>
internal sealed class ConsoleSession
{
    public const string Scheme = "tessera-console";

    private readonly TicketDataFormat _format;
    private readonly TimeProvider _time;
    private readonly bool _secure;

    private readonly LiveConfig _live;
    private readonly ApprovalService _approvals;
    private readonly ConsoleSessions _sessions;

    public ConsoleSession(IDataProtectionProvider protection, TimeProvider time, LiveConfig live, ApprovalService approvals, ConsoleSessions sessions)
    {
        _live = live;
        _sessions = sessions;
        var config = live.Config;
        _approvals = approvals;
        _format = new TicketDataFormat(protection.CreateProtector("Tessera.Console.Session.v1"));
        _time = time;
        _secure = !IsLoopback(config.Server.Listen);
        CookieName = _secure ? "__Host-tessera-console" : "tessera-console";
    }

    /// <summary>
    /// <c>Secure</c> and named <c>__Host-</c> unless the server listens on a loopback address, where a
    /// browser reaches it over plain HTTP.
    /// </summary>
    public string CookieName { get; }

    /// <summary>Registers the session, its key derived from the master key, and antiforgery for the console's forms.</summary>
    public static void Add(IServiceCollection services)
    {
        services.AddDataProtection();
        services.AddOptions<KeyManagementOptions>().Configure<MasterKey>((o, masterKey) =>
        {
            o.XmlRepository = new ConsoleKeys(masterKey);
            o.AutoGenerateKeys = false;

            // The key is derived, never stored: there is nothing to encrypt.
            o.XmlEncryptor = new NullXmlEncryptor();
        });
        services.AddSingleton<ConsoleSession>();
        services.AddAntiforgery(o =>
        {
            // Antiforgery refuses to work over plain HTTP with a Secure cookie, and a server beyond loopback
            // may see plain HTTP from the TLS proxy in front of it. This cookie admits nothing alone: a
            // form also needs the request token, which is bound to the session's user.
            o.Cookie.Name = "tessera-console-form";
            o.Cookie.Path = "/console";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__form";

            // ConsoleHeaders sends DENY (and frame-ancestors 'none'), stricter than antiforgery's SAMEORIGIN.
            o.SuppressXFrameOptionsHeader = true;
        });
    }

    /// <summary>Starts a new session for someone identified and entitled; its cookie is set on the response.</summary>
    public ConsoleUser SignIn(HttpContext context, string name, bool isAdmin, string? idp, string? sub)
    {
        var user = new ConsoleUser(name, isAdmin, idp, sub, _sessions.Start(sub));
        Write(context, user);
        return user;
    }

    /// <summary>Ends the session on every node (a copy of its cookie is refused from now on) and clears the cookie.</summary>
    public async Task SignOutAsync(HttpContext context, ConsoleUser user)
    {
        await _sessions.SignOutAsync(user.Session, user.Name, context.TraceIdentifier, context.RequestAborted);
        context.Response.Cookies.Delete(CookieName, Options());
    }

    /// <summary>
    /// The signed-in user, or null (no cookie, a forged or foreign one, or a session that ended: idle, too
    /// old, signed out, its person revoked, or no right left); a live session is extended.
    /// </summary>
    public ConsoleUser? Current(HttpContext context)
    {
        var cookie = context.Request.Cookies[CookieName];
        var ticket = cookie is null ? null : _format.Unprotect(cookie);
        if (ticket?.Properties.ExpiresUtc is not { } idleUntil || ConsoleUser.From(ticket.Principal, idleUntil) is not { } signedIn
            || _sessions.Check(signedIn.Session) != ConsoleSessionVerdict.Live || Recheck(signedIn) is not { } user)
        {
            return null;
        }

        user = user with { Session = _sessions.Extend(user.Session) };
        var principal = Write(context, user);

        // Antiforgery tokens are bound to this user: a form rendered for one session fails in another.
        context.User = principal;
        return user;
    }

    /// <summary>
    /// Who the session names, with the rights the configuration gives them now, not at sign-in: a session
    /// outlives a restart and moves between nodes, and an admin or approver may have been removed since.
    /// Null when they have no right left (the session ends).
    /// </summary>
    private ConsoleUser? Recheck(ConsoleUser user)
    {
        if (user.Idp is null || user.Sub is null)
        {
            return user.IsAdmin && user.Name == AdminAuthenticator.BootstrapAdminName && _live.Config.Server.BootstrapAdminToken ? user : null;
        }

        if (_live.Config.Admins.Any(a => a.Idp == user.Idp && a.Sub == user.Sub))
        {
            return user with { IsAdmin = true };
        }

        return _approvals.IsApprover(user.AsApprover) ? user with { IsAdmin = false } : null;
    }

    private ClaimsPrincipal Write(HttpContext context, ConsoleUser user)
    {
        var principal = user.ToPrincipal();
        var ticket = new AuthenticationTicket(principal, new AuthenticationProperties { IssuedUtc = _time.GetUtcNow(), ExpiresUtc = user.Session.IdleUntil }, Scheme);
        context.Response.Cookies.Append(CookieName, _format.Protect(ticket), Options());
        return principal;
    }

    // A session cookie (no Expires): the browser forgets it when closed, the server after the idle timeout.
    private CookieOptions Options() => new() { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = _secure, IsEssential = true };

    internal static bool IsLoopback(Uri listen) =>
        listen.IsLoopback || (IPAddress.TryParse(listen.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
