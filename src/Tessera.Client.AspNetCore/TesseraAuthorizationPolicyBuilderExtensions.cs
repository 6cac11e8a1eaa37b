using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace Tessera.Client.AspNetCore;

/// <summary>Authorization on the scopes of a Tessera token.</summary>
public static class TesseraAuthorizationPolicyBuilderExtensions
{
    /// <summary>
    /// Requires an authenticated user whose token's <c>scope</c> claim (space-separated, such as
    /// <c>crm:read crm:export</c>) holds every one of <paramref name="scopes"/>. A user without them is
    /// answered 403.
    /// </summary>
    /// <param name="builder">The policy being built.</param>
    /// <param name="scopes">The scopes required, each exactly as Tessera names it (<c>crm:read</c>).</param>
    /// <returns>The same builder.</returns>
    public static AuthorizationPolicyBuilder RequireScope(this AuthorizationPolicyBuilder builder, params string[] scopes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(scopes);
        if (scopes.Length == 0 || scopes.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Name at least one scope, none empty.", nameof(scopes));
        }

        string[] required = [.. scopes];
        return builder.RequireAuthenticatedUser().RequireAssertion(context => HasScopes(context.User, required));
    }

    internal static bool HasScopes(ClaimsPrincipal user, IReadOnlyList<string> required)
    {
        var granted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var claim in user.FindAll(TesseraClaimTypes.Scope))
        {
            foreach (var scope in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                granted.Add(scope);
            }
        }

        return required.All(granted.Contains);
    }
}
