namespace Tessera.Core.Audit;

/// <summary>The dotted event types, listed in docs/reference/http-api.md ("Audit event types").</summary>
public static class AuditTypes
{
    public const string TokenIssued = "token.issued";
    public const string TokenExchanged = "token.exchanged";
    public const string TokenDenied = "token.denied";
    public const string TokenRevoked = "token.revoked";
    public const string TokenIntrospected = "token.introspected";
    public const string ClientAuthenticated = "client.authenticated";
    public const string IntrospectionDenied = "introspection.denied";
    public const string RevocationDenied = "revocation.denied";
    public const string KeyCreated = "key.created";
    public const string KeyRotated = "key.rotated";

    /// <summary>A superseded signing key left JWKS and was deleted: every token it signed has expired.</summary>
    public const string KeyRetired = "key.retired";

    /// <summary>
    /// A signed checkpoint of the chain (<c>checkpoint</c>: a JWS of the node, the sequence number and
    /// hash of the event before it, and the time), cut every <c>audit.checkpoint.every_events</c>
    /// events or <c>audit.checkpoint.every</c> when events came; see <see cref="AuditCheckpoint"/>.
    /// </summary>
    public const string AuditCheckpoint = "audit.checkpoint";
    public const string AdminDenied = "admin.denied";
    public const string AdminRead = "admin.read";

    /// <summary>Someone signed in to the web console (docs/console.md) with an admin's or approver's token.</summary>
    public const string ConsoleSignedIn = "console.signed_in";

    /// <summary>A sign-in to the web console was refused (the token is never recorded).</summary>
    public const string ConsoleSignInDenied = "console.sign_in_denied";

    /// <summary>
    /// Someone signed out of the web console: the event carries the session's durable revocation, so a
    /// copy of its cookie is refused on every node from then on.
    /// </summary>
    public const string ConsoleSignedOut = "console.signed_out";
    public const string AgentSuspended = "admin.agent_suspended";
    public const string AgentResumed = "admin.agent_resumed";
    public const string ServerStarted = "admin.server_started";

    /// <summary>
    /// The running configuration was replaced by a reload (<c>config_hash</c>: the new one's hash;
    /// <c>changes</c>: what changed; <c>principal</c>: who asked). Written before the new configuration serves anything.
    /// </summary>
    public const string ConfigReloaded = "config.reloaded";

    /// <summary>A reload was refused and nothing changed: the file is invalid, or changes what takes a restart (<c>reason_code</c> says which).</summary>
    public const string ConfigRefused = "config.refused";
    public const string SecretPut = "secret.put";
    public const string SecretRotated = "secret.rotated";
    public const string SecretDestroyed = "secret.destroyed";
    public const string SecretDenied = "secret.denied";
    public const string SecretRolledBack = "secret.rolled_back";
    public const string VaultRekeyed = "vault.rekeyed";
    /// <summary>A proxied request was allowed; durable before it is forwarded. Its outcome follows as <see cref="ProxyCompleted"/> or <see cref="ProxyFailed"/>.</summary>
    public const string ProxyForwarded = "proxy.forwarded";

    /// <summary>The upstream answered a forwarded request (status and latency; same <c>request_id</c> and <c>jti</c>).</summary>
    public const string ProxyCompleted = "proxy.completed";

    public const string ProxyDenied = "proxy.denied";

    /// <summary>A recorded request failed: the upstream could not be reached or timed out, or (status 503) it was not forwarded at all.</summary>
    public const string ProxyFailed = "proxy.failed";
    public const string ApprovalRequested = "approval.requested";
    public const string ApprovalApproved = "approval.approved";
    public const string ApprovalDenied = "approval.denied";
    public const string ApprovalExpired = "approval.expired";

    /// <summary>A webhook of the approval's group was told of the request (or could not be, outcome <c>error</c>).</summary>
    public const string ApprovalNotified = "approval.notified";

    /// <summary>An administrator ended an open approval (and revoked its token, if one was issued).</summary>
    public const string ApprovalRevoked = "approval.revoked";

    /// <summary>
    /// A source or client id used up its allowance of failures (<c>rate_limits</c>): from now on its
    /// attempts are refused with 429 and counted, not recorded one by one. Outcome <c>denied</c>,
    /// status 429; the reason names the limit, the source (or <c>agent</c> holds the client id) and the allowance.
    /// </summary>
    public const string RateLimitExceeded = "ratelimit.exceeded";

    /// <summary>
    /// Every minute while a source or client id is limited: how many attempts were refused since the
    /// last event, and, once a minute passed without any, that the limit was lifted (with the episode's total).
    /// </summary>
    public const string RateLimitSummary = "ratelimit.summary";

    /// <summary>A database lease was handed out: its role exists with the grants of its scopes (<c>lease</c>, <c>role</c>, <c>tool</c>, <c>scopes</c>).</summary>
    public const string LeaseIssued = "lease.issued";

    /// <summary>A request for a lease was refused (outcome <c>denied</c>, or <c>error</c> when the database or the admin secret failed).</summary>
    public const string LeaseDenied = "lease.denied";

    /// <summary>A lease ended: its sessions were cut and its role dropped (or an operator forced its record closed: <c>reason_code</c> <c>lease.forced</c>).</summary>
    public const string LeaseRevoked = "lease.revoked";

    /// <summary>Ending a lease failed; it is retried with backoff and reported until it succeeds or is forced.</summary>
    public const string LeaseRevokeFailed = "lease.revoke_failed";
}
