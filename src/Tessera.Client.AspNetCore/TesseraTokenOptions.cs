namespace Tessera.Client.AspNetCore;

/// <summary>How a tool validates the Tessera access tokens it receives.</summary>
public sealed class TesseraTokenOptions
{
    /// <summary>
    /// Tessera's issuer (<c>server.issuer</c>), such as <c>https://tessera.internal</c>. Tokens must carry it
    /// as <c>iss</c>; the signing keys come from the <c>jwks_uri</c> of its RFC 8414 metadata at
    /// <c>{Authority}/.well-known/oauth-authorization-server</c>. Required.
    /// </summary>
    public Uri? Authority { get; set; }

    /// <summary>
    /// This tool's audience in Tessera (<c>tools[].audience</c>, by default <c>urn:tessera:tool:ID</c>).
    /// A token's <c>aud</c> must equal it exactly. Required.
    /// </summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Refuse tokens that are not DPoP-bound (RFC 9449). A bound token (one with <c>cnf.jkt</c>) always
    /// needs its proof, whatever this says.
    /// </summary>
    public bool RequireDPoP { get; set; }

    /// <summary>
    /// When set, every token is also introspected at the metadata's <c>introspection_endpoint</c>, so a
    /// revoked token is refused within <see cref="IntrospectionCacheDuration"/>. Without it, a revoked
    /// token is accepted until it expires.
    /// </summary>
    public TesseraIntrospectionClient? Introspection { get; set; }

    /// <summary>
    /// How long an introspection answer is reused for the same token (by its <c>jti</c>), in this process:
    /// the longest a revoked token can still be accepted. Default 30 seconds; zero asks every time.
    /// </summary>
    public TimeSpan IntrospectionCacheDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Refuse an <see cref="Authority"/> that is not HTTPS (the metadata and keys would travel unprotected).
    /// Default true; turn it off only for a local development or test broker.
    /// </summary>
    public bool RequireHttpsMetadata { get; set; } = true;
}
