namespace Tessera.Core.Protocol;

/// <summary>An RFC 6749 §5.2 error: a code from the registry and a description that helps a person.</summary>
/// <param name="Code">The OAuth error code, e.g. <c>invalid_scope</c>.</param>
/// <param name="Description">Safe to show the caller: never contains a secret or a whole token.</param>
/// <param name="StatusCode">HTTP status; 400 unless the RFC says otherwise (401 for invalid_client).</param>
public sealed record OAuthError(string Code, string Description, int StatusCode = 400)
{
    /// <summary>
    /// Members written next to <c>error</c> and <c>error_description</c> (RFC 6749 §5.2 allows
    /// extensions): <c>auth_req_id</c>, <c>expires_in</c>, <c>interval</c>. Values are strings or longs.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, object>>? Members { get; init; }

    /// <summary>When the caller may try again (a <c>Retry-After</c> header), for a refusal by a rate limit.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static OAuthError InvalidRequest(string description) => new(OAuthErrorCodes.InvalidRequest, description);
    public static OAuthError InvalidDpopProof(string description) => new(OAuthErrorCodes.InvalidDpopProof, description);
    public static OAuthError InvalidScope(string description) => new(OAuthErrorCodes.InvalidScope, description);
    public static OAuthError InvalidTarget(string description) => new(OAuthErrorCodes.InvalidTarget, description);
    public static OAuthError InvalidGrant(string description) => new(OAuthErrorCodes.InvalidGrant, description);
    public static OAuthError UnauthorizedClient(string description) => new(OAuthErrorCodes.UnauthorizedClient, description);
    public static OAuthError UnsupportedGrantType(string description) => new(OAuthErrorCodes.UnsupportedGrantType, description);

    /// <summary>
    /// The one body every failed client authentication gets, so an unknown client and a wrong
    /// secret cannot be told apart.
    /// </summary>
    public static readonly OAuthError InvalidClient = new(OAuthErrorCodes.InvalidClient, "Client authentication failed.", 401);

    /// <summary>The storage or audit pipeline failed; the action did not happen (fail closed).</summary>
    /// <summary>This node is not current with the other nodes on its database (<see cref="RefusalCodes.ClusterStale"/>): retry, here or at another node.</summary>
    public static readonly OAuthError ClusterStale = new(OAuthErrorCodes.TemporarilyUnavailable,
        "This node has not caught up with the other nodes of this installation; retry shortly or at another node.", 503);

    public static readonly OAuthError ServerError = new("server_error", "The request could not be recorded durably and was not carried out; retry later.", 503);
}
