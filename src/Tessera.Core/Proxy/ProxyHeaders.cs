namespace Tessera.Core.Proxy;

/// <summary>
/// Which request headers a caller may not pass to an upstream, and the <c>Connection</c> header's rule
/// (RFC 9110 §7.6.1). The upstream sees the agent's end-to-end headers and Tessera's credential:
/// nothing meant for one connection only, nothing claiming where the request came from, and none of
/// the agent's own credentials.
/// </summary>
public static class ProxyHeaders
{
    /// <summary>
    /// Hop-by-hop headers (RFC 9110 §7.6.1, and <c>Proxy-Connection</c>, which old clients still send):
    /// they describe the agent's connection to Tessera, not the request.
    /// </summary>
    public static readonly IReadOnlyList<string> HopByHop =
        ["Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"];

    /// <summary>
    /// Headers that claim the client's address, host, scheme or the proxies on the way: a caller could
    /// forge any of them, and an upstream might trust them (allow lists, "internal" requests, links).
    /// </summary>
    public static readonly IReadOnlyList<string> ClientAddress =
    [
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Forwarded-Port",
        "X-Forwarded-Server", "X-Original-Forwarded-For", "X-Real-IP", "X-Client-IP", "True-Client-IP", "X-Cluster-Client-IP",
        "CF-Connecting-IP", "Fastly-Client-IP", "X-Original-Host", "Via",
    ];

    /// <summary>The caller's own credentials: the upstream trusts Tessera's, never the agent's.</summary>
    public static readonly IReadOnlyList<string> CallerCredentials = ["Authorization", "Proxy-Authorization", "DPoP", "Cookie"];

    /// <summary>Every header removed from a proxied request, before the tool's credential is added.</summary>
    public static readonly IReadOnlyList<string> Stripped = [.. HopByHop, .. ClientAddress, .. CallerCredentials];

    /// <summary>
    /// The header names the <c>Connection</c> header lists (its connection options), which are removed
    /// too; null with a refusal when it is malformed or names a header that describes the request
    /// itself (<c>Host</c>, <c>Content-*</c>): removing one would forward another request than the
    /// one checked (its body's type or length), keeping it would disobey the sender.
    /// </summary>
    public static List<string>? ConnectionOptions(IEnumerable<string?> values, out string? refusal)
    {
        refusal = null;
        var options = new List<string>();
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                // Empty list elements are allowed (RFC 9110 §5.6.1).
                if (part.Length == 0)
                {
                    continue;
                }

                if (!IsToken(part))
                {
                    refusal = "malformed Connection header";
                    return null;
                }

                if (part.Equals("Host", StringComparison.OrdinalIgnoreCase) || part.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
                {
                    refusal = $"the Connection header may not name {part}, which describes the request itself";
                    return null;
                }

                options.Add(part);
            }
        }

        return options;
    }

    /// <summary>RFC 9110 §5.6.2 token: one or more tchar.</summary>
    private static bool IsToken(string text)
    {
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~'))
            {
                return false;
            }
        }

        return text.Length > 0;
    }
}
