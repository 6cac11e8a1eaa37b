namespace Tessera.Core.Protocol;

/// <summary>
/// The one catalogue of refusal reason codes (the OAuth endpoints, the proxy, the admin API): stable, dotted
/// <c>family.what</c> in snake case, recorded as an audit event's <c>reason_code</c> next to the
/// free-text <c>reason</c>. The text may be reworded; a code never changes meaning, so alerts and
/// queries can rely on it. Every code is listed in docs/reference/refusals.md.
/// </summary>
public static class RefusalCodes
{
    // The request body, before anything else is read (/oauth/*).
    public const string FormNotPost = "form.not_post";
    public const string FormNotFormEncoded = "form.not_form_encoded";
    public const string FormTooLarge = "form.too_large";
    public const string FormUnreadable = "form.unreadable";
    public const string FormInvalidUtf8 = "form.invalid_utf8";
    public const string FormTooManyOrTooLong = "form.too_many_or_too_long";
    public const string FormDuplicateParameter = "form.duplicate_parameter";

    // The shape of the client's authentication, before it is checked.
    public const string ClientSeveralMethods = "client.several_methods";
    public const string ClientIdMismatch = "client.id_mismatch";
    public const string ClientAssertionTypeUnsupported = "client.assertion_type_unsupported";

    // Client authentication (secrets; the registration of a client that proved who it is).
    public const string ClientNone = "client.none";
    public const string ClientMalformedCredentials = "client.malformed_credentials";
    public const string ClientUnknown = "client.unknown";
    public const string ClientNoSecret = "client.no_secret";
    public const string ClientSecretExpired = "client.secret_expired";
    public const string ClientWrongSecret = "client.wrong_secret";
    public const string ClientRegistrationExpired = "client.registration_expired";
    public const string ClientSuspended = "client.suspended";

    /// <summary>Refused by a rate limit: counted there and recorded in its summaries, never one event each.</summary>
    public const string ClientRateLimited = "client.rate_limited";

    // private_key_jwt (RFC 7523).
    public const string AssertionMalformed = "client_assertion.malformed";
    public const string AssertionIssuerMismatch = "client_assertion.issuer_mismatch";
    public const string AssertionNoKeys = "client_assertion.no_keys";
    public const string AssertionInvalid = "client_assertion.invalid";
    public const string AssertionSubjectMismatch = "client_assertion.subject_mismatch";
    public const string AssertionNoExp = "client_assertion.no_exp";
    public const string AssertionExpired = "client_assertion.expired";
    public const string AssertionLifetimeTooLong = "client_assertion.lifetime_too_long";
    public const string AssertionNotYetValid = "client_assertion.not_yet_valid";
    public const string AssertionNoJti = "client_assertion.no_jti";
    public const string AssertionReplayed = "client_assertion.replayed";

    // An identity provider's token as client authentication.
    public const string FederatedWrongType = "federated_assertion.wrong_type";
    public const string FederatedNotFederated = "federated_assertion.not_federated";
    public const string FederatedInvalid = "federated_assertion.invalid";
    public const string FederatedNoSub = "federated_assertion.no_sub";
    public const string FederatedUnknownSubject = "federated_assertion.unknown_subject";
    public const string FederatedSubjectMismatch = "federated_assertion.subject_mismatch";
    public const string FederatedNoExp = "federated_assertion.no_exp";
    public const string FederatedExpired = "federated_assertion.expired";
    public const string FederatedLifetimeTooLong = "federated_assertion.lifetime_too_long";
    public const string FederatedIssuedInFuture = "federated_assertion.issued_in_future";
    public const string FederatedNotYetValid = "federated_assertion.not_yet_valid";
    public const string FederatedNoJti = "federated_assertion.no_jti";
    public const string FederatedReplayed = "federated_assertion.replayed";

    // The token endpoint's own rules.
    public const string GrantTypeMissing = "grant_type.missing";
    public const string GrantTypeUnsupported = "grant_type.unsupported";
    public const string DpopSeveralProofs = "dpop.several_proofs";
    public const string DpopInvalidProof = "dpop.invalid_proof";
    public const string DpopNonceRequired = "dpop.nonce_required";
    public const string DpopRequiredByAgent = "dpop.required_by_agent";
    public const string DpopRequiredByTool = "dpop.required_by_tool";
    public const string TargetSeveral = "target.several";
    public const string TargetUnknown = "target.unknown";
    public const string TargetNotInferred = "target.not_inferred";
    public const string TargetNotAllowed = "target.not_allowed";
    public const string ScopeNoneGranted = "scope.none_granted";
    public const string AuthorizationDetailsUnbound = "authorization_details.unbound";

    // Token exchange (RFC 8693).
    public const string SubjectTokenMissing = "subject_token.missing";
    public const string SubjectTokenTypeUnsupported = "subject_token.type_unsupported";
    public const string SubjectTokenNotJwt = "subject_token.not_jwt";
    public const string SubjectTokenExpired = "subject_token.expired";
    public const string SubjectTokenRevoked = "subject_token.revoked";
    public const string SubjectTokenLifetimeExceeded = "subject_token.lifetime_exceeded";
    public const string SubjectTokenInvalid = "subject_token.invalid";
    public const string SubjectTokenToolToken = "subject_token.tool_token";
    public const string SubjectTokenRejected = "subject_token.rejected";
    public const string SubjectTokenForeignActors = "subject_token.foreign_actors";
    public const string SubjectTokenEndOfLife = "subject_token.end_of_life";
    public const string ActorTokenNotAccepted = "actor_token.not_accepted";
    public const string RequestedTokenTypeUnsupported = "requested_token_type.unsupported";
    public const string PurposeInvalid = "purpose.invalid";
    public const string DelegationMayActMismatch = "delegation.may_act_mismatch";
    public const string DelegationNotAllowed = "delegation.not_allowed";
    public const string DelegationTooDeep = "delegation.too_deep";

    // Approvals (docs/approvals.md), as the token endpoint answers them.
    public const string ApprovalNotRequested = "approval.not_requested";
    public const string ApprovalDenied = "approval.denied";
    public const string ApprovalExpired = "approval.expired";
    public const string ApprovalInvalidPoll = "approval.invalid_poll";

    // Introspection and revocation.
    public const string CallerAdminBearerRefused = "caller.admin_bearer_refused";
    public const string TokenMissing = "token.missing";
    public const string RevocationNotYours = "revocation.not_yours";

    // A node of several on one database that cannot vouch it has applied every other node's changes
    // (ClusterFreshness): the token endpoint, introspection and the proxy answer 503.
    public const string ClusterStale = "cluster.stale";

    // The proxy (/proxy/{tool}/...): recorded as proxy.denied, before anything is forwarded.
    public const string ProxyTargetNotOriginForm = "proxy.target_not_origin_form";
    public const string ProxyTokenMissing = "proxy.token_missing";
    public const string ProxySeveralAuthorizationHeaders = "proxy.several_authorization_headers";
    public const string ProxyTokenMalformed = "proxy.token_malformed";
    public const string ProxyTokenNotOurs = "proxy.token_not_ours";
    public const string ProxyTokenExpired = "proxy.token_expired";
    public const string ProxyTokenRevoked = "proxy.token_revoked";
    public const string ProxyTokenLifetimeExceeded = "proxy.token_lifetime_exceeded";
    public const string ProxyToolUnknown = "proxy.tool_unknown";
    public const string ProxyDpopBoundAsBearer = "proxy.dpop_bound_as_bearer";
    public const string ProxyDpopRequiredByTool = "proxy.dpop_required_by_tool";
    public const string ProxyDpopTokenNotBound = "proxy.dpop_token_not_bound";
    public const string ProxyDpopProofMissing = "proxy.dpop_proof_missing";
    public const string ProxyDpopSeveralProofs = "proxy.dpop_several_proofs";
    public const string ProxyDpopInvalidProof = "proxy.dpop_invalid_proof";
    public const string ProxyDpopNonceRequired = "proxy.dpop_nonce_required";
    public const string ProxyDpopKeyMismatch = "proxy.dpop_key_mismatch";
    public const string ProxyOverrideHeader = "proxy.override_header";
    public const string ProxyConnectionHeader = "proxy.connection_header";
    public const string ProxyPathAmbiguous = "proxy.path_ambiguous";
    public const string ProxyQueryInvalid = "proxy.query_invalid";
    public const string ProxyMissionToken = "proxy.mission_token";
    public const string ProxyWrongAudience = "proxy.wrong_audience";
    public const string ProxyRuleNotMatched = "proxy.rule_not_matched";
    public const string ProxyBodyTooLarge = "proxy.body_too_large";
    public const string ProxyExactRequestUnbound = "proxy.exact_request_unbound";
    public const string ProxyExactRequestMismatch = "proxy.exact_request_mismatch";
    public const string ProxyBodyUnreadable = "proxy.body_unreadable";
    public const string ProxyExactBodyMismatch = "proxy.exact_body_mismatch";
    public const string ProxyUpstreamMissing = "proxy.upstream_missing";
    public const string ProxyCredentialMissing = "proxy.credential_missing";
    public const string ProxyCredentialTampered = "proxy.credential_tampered";
    public const string ProxyAuditUnhealthy = "proxy.audit_unhealthy";
    public const string ProxyUsesSpent = "proxy.uses_spent";

    // The proxy, after the grant: recorded as proxy.failed (the request was allowed).
    public const string ProxyAuditUnavailable = "proxy.audit_unavailable";
    public const string ProxyUpstreamTimeout = "proxy.upstream_timeout";
    public const string ProxyUpstreamFailed = "proxy.upstream_failed";

    // The proxy, for a tool it does not forward to (a database: agents get leases instead).
    public const string ProxyToolNotProxied = "proxy.tool_not_proxied";

    // Database leases (POST /credentials/{tool}): recorded as lease.denied. The token and its DPoP
    // proof are refused with the proxy's codes (proxy.token_*, proxy.dpop_*, proxy.mission_token,
    // proxy.wrong_audience): the same rules, the same codes.
    public const string LeaseToolUnknown = "lease.tool_unknown";
    public const string LeaseToolNotDatabase = "lease.tool_not_database";
    public const string LeaseNoScope = "lease.no_scope";
    public const string LeaseExactRequestToken = "lease.exact_request_token";
    public const string LeaseUsesSpent = "lease.uses_spent";
    public const string LeaseAuditUnhealthy = "lease.audit_unhealthy";
    public const string LeaseAdminSecretMissing = "lease.admin_secret_missing";
    public const string LeaseAdminSecretTampered = "lease.admin_secret_tampered";
    public const string LeaseAdminRejected = "lease.admin_rejected";
    public const string LeaseGrantRefused = "lease.grant_refused";
    public const string LeaseDatabaseUnavailable = "lease.database_unavailable";
    public const string LeaseNotRecorded = "lease.not_recorded";

    // Ending a lease: lease.revoke_failed carries the failure; lease.revoked of a forced end says so.
    public const string LeaseRevokeFailed = "lease.revoke_failed";
    public const string LeaseForced = "lease.forced";
    public const string LeaseUnknown = "lease.unknown";

    // The admin API (/admin/v1): recorded as admin.denied (secret.denied for the vault's own rules).
    public const string AdminTokenMissing = "admin.token_missing";
    public const string AdminTokenInvalid = "admin.token_invalid";
    public const string AdminNotAdmin = "admin.not_admin";
    public const string AdminNotApprover = "admin.not_approver";
    public const string AdminBodyTooLarge = "admin.body_too_large";
    public const string AdminBodyMediaType = "admin.body_media_type";
    public const string AdminBodyUnreadable = "admin.body_unreadable";
    public const string AdminBodyInvalid = "admin.body_invalid";
    public const string AdminBodyNotExpected = "admin.body_not_expected";
    public const string AdminQueryInvalid = "admin.query_invalid";
    public const string AdminAgentUnknown = "admin.agent_unknown";

    // A configuration reload refused (docs/operations.md): nothing changed, the running configuration keeps serving.
    public const string ConfigInvalid = "config.invalid";
    public const string ConfigRestartRequired = "config.restart_required";
    public const string ConfigNoFile = "config.no_file";
    public const string AdminMissionUnknown = "admin.mission_unknown";
    public const string AdminRevocationInvalid = "admin.revocation_invalid";
    public const string AdminRevocationTokenInvalid = "admin.revocation_token_invalid";

    // The web console (/console): a form without its antiforgery token (admin.denied).
    public const string ConsoleFormInvalid = "console.form_invalid";

    // The web console's OpenID Connect sign-in failed before anyone was identified: the provider answered an
    // error, the state or nonce did not match, the code exchange or the ID token was refused (console.sign_in_denied).
    public const string ConsoleOidcFailed = "console.oidc_failed";

    // Approvals, as the admin API decides and revokes them (approval.expired above is shared).
    public const string ApprovalNotFound = "approval.not_found";
    public const string ApprovalNotAMember = "approval.not_a_member";
    public const string ApprovalSelfApproval = "approval.self_approval";
    public const string ApprovalApproverInChain = "approval.approver_in_chain";
    public const string ApprovalAlreadyDecided = "approval.already_decided";
    public const string ApprovalNothingToRevoke = "approval.nothing_to_revoke";
    public const string ApprovalCommentInvalid = "approval.comment_invalid";

    // The vault, as the admin API changes it.
    public const string SecretNameInvalid = "secret.name_invalid";
    public const string SecretValueSize = "secret.value_size";
    public const string SecretValueNotText = "secret.value_not_text";
    public const string SecretExists = "secret.exists";
    public const string SecretNotFound = "secret.not_found";
    public const string VaultRekeyBroken = "vault.rekey_broken";

    // MCP tools (docs/mcp.md): the one JSON-RPC message of a POST, and what the rules say of it.
    public const string McpNotJsonContentType = "mcp.not_json_content_type";
    public const string McpInvalidJson = "mcp.invalid_json";
    public const string McpDuplicateMember = "mcp.duplicate_member";
    public const string McpBatch = "mcp.batch";
    public const string McpNotJsonRpc = "mcp.not_jsonrpc";
    public const string McpParamsInvalid = "mcp.params_invalid";
    public const string McpHeaderMismatch = "mcp.header_mismatch";
    public const string McpAmbiguousUri = "mcp.ambiguous_uri";
    public const string McpBodyNotAllowed = "mcp.body_not_allowed";
    public const string McpNotAllowed = "mcp.not_allowed";
    public const string McpNotTheApprovedCall = "mcp.not_the_approved_call";
    public const string McpParamHeaderWithApproval = "mcp.param_header_with_approval";
    public const string McpSessionNotYours = "mcp.session_not_yours";
    public const string McpWrongEndpoint = "mcp.wrong_endpoint";
    public const string McpQueryNotAllowed = "mcp.query_not_allowed";
    public const string McpHttpMethodNotAllowed = "mcp.http_method_not_allowed";
    public const string McpAnswerUnfiltered = "mcp.answer_unfiltered";
    public const string McpStreamTokenRevoked = "mcp.stream_token_revoked";
    public const string McpStreamTokenExpired = "mcp.stream_token_expired";
}
