namespace Tessera.Core.Tools;

/// <summary>
/// A tool as an OAuth protected resource seen from outside (RFC 9728, RFC 8707): its resource URI,
/// <c>&lt;issuer&gt;/proxy/{tool}</c>, which a client may send as <c>resource</c> at the token
/// endpoint; and where its metadata is published, the well-known path inserted between the host and
/// the resource's path (RFC 9728 §3.1).
/// </summary>
public static class ProtectedResource
{
    public const string WellKnown = "/.well-known/oauth-protected-resource";

    /// <summary>The tool's resource URI: the proxy URL agents call.</summary>
    public static string UriOf(string issuer, string toolId) => issuer.TrimEnd('/') + "/proxy/" + toolId;

    /// <summary>Where the tool's RFC 9728 metadata is served.</summary>
    public static string MetadataUrlOf(string issuer, string toolId)
    {
        var resource = new Uri(UriOf(issuer, toolId));
        return resource.GetLeftPart(UriPartial.Authority) + WellKnown + resource.AbsolutePath;
    }

    /// <summary>The tool a resource URI names, when it is <c>&lt;issuer&gt;/proxy/{tool}</c> (a trailing <c>/</c> ignored); else null.</summary>
    public static string? ToolIdOf(string issuer, string resource)
    {
        // On every token request that names a tool by a target the audience map does not know:
        // compared in place, nothing allocated unless it is a proxy URL.
        var root = issuer.AsSpan().TrimEnd('/');
        var target = resource.AsSpan();
        if (!target.StartsWith(root, StringComparison.Ordinal) || !target[root.Length..].StartsWith("/proxy/", StringComparison.Ordinal))
        {
            return null;
        }

        var id = target[(root.Length + "/proxy/".Length)..].TrimEnd('/');
        return id.IsEmpty || id.Contains('/') ? null : id.ToString();
    }
}
