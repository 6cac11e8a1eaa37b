using System.Security.Cryptography;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Protocol;
using Tessera.Core.Telemetry;
using Tessera.Core.Tools;

namespace Tessera.Core.Tokens;

/// <summary>
/// The token endpoint's decisions: authenticate the client, apply the grant's rules, sign, and
/// record the decision durably before answering. Every refusal is audited too.
/// </summary>
public sealed partial class TokenService(
    ClientAuthenticator authenticator,
    LiveConfig live,
    SigningKeyService keys,
    AuditLog audit,
    AccessTokenValidator validator,
    Dpop.DpopProofValidator dpop,
    IApprovalGate approvals,
    TimeProvider time)
{
    private readonly TokenIssuer _issuer = new(keys, audit);
    private readonly AuditLog _audit = audit;

    /// <summary>The token endpoint's path under the issuer: what a token request's DPoP proof names in <c>htu</c>.</summary>
    public const string TokenEndpointPath = "/oauth/token";

    public async Task<OAuthResult<TokenResponse>> HandleAsync(TokenRequest request, CancellationToken cancellationToken)
    {
        // The client is authenticated first: a refusal of anyone else is a failed authentication,
        // which the rate limits count, never an audit event for free.
        ClientAuthentication client;
        using (TesseraTrace.Start(TesseraTrace.ClientAuthentication))
        {
            client = await authenticator.AuthenticateAsync(request.Client, cancellationToken);
        }

        request = request with { PendingChanges = client.Changes };
        if (client.Throttled)
        {
            // Refused by a rate limit before anything was checked: counted there and recorded in its summary.
            return client.Error!;
        }

        if (!client.Succeeded)
        {
            return await DenyAsync(request, client.ClaimedClientId, client.Refusal!, cancellationToken);
        }

        // A node that may have missed another node's revocation or suspension issues nothing.
        if (!validator.IsCurrent)
        {
            return await DenyAsync(request, client.Agent!.Id,
                new(RefusalCodes.ClusterStale, OAuthError.ClusterStale, "this node is not current with the other nodes of its installation"), cancellationToken);
        }

        // Reject token requests missing the mandatory grant_type parameter.
        var grantType = request.Get("grant_type");
        if (string.IsNullOrEmpty(grantType))
        {
            return await DenyAsync(request, client.Agent!.Id,
                new(RefusalCodes.GrantTypeMissing, OAuthError.InvalidRequest("The mandatory 'grant_type' parameter is missing."), "grant_type missing"), cancellationToken);
        }

        // Reject more than one DPoP header (RFC 9449 §4.3, step 1).
        if (request.DpopProofCount > 1)
        {
            return await DenyAsync(request, client.Agent!.Id,
                new(RefusalCodes.DpopSeveralProofs, OAuthError.InvalidDpopProof("Send exactly one DPoP header."), "several DPoP headers"), cancellationToken);
        }

        if (request.DpopProof is { } proof)
        {
            // Reject a proof that fails any check of RFC 9449 §4.3; a valid one binds the token to its key.
            var binding = await dpop.ValidateAsync(proof, "POST", TokenEndpointPath, null, cancellationToken);
            if (!binding.IsValid)
            {
                return await DenyAsync(request, client.Agent!.Id, binding.UseNonce
                    ? new(RefusalCodes.DpopNonceRequired, new OAuthError(OAuthErrorCodes.UseDpopNonce, binding.Error!), binding.Error!)
                    : new(RefusalCodes.DpopInvalidProof, OAuthError.InvalidDpopProof(binding.Error!), binding.Error!), cancellationToken);
            }

            request = request with { DpopJkt = binding.Jkt };
        }
        else if (DpopRequirement.RefuseBearer(client.Agent!, tool: null, request.DpopJkt) is { } unbound)
        {
            // Reject unbound requests from agents configured to hold only sender-constrained tokens.
            return await DenyAsync(request, client.Agent!.Id, unbound, cancellationToken);
        }

        return grantType switch
        {
            GrantTypes.ClientCredentials => await ClientCredentialsAsync(request, client.Agent!, cancellationToken),
            GrantTypes.TokenExchange => await ExchangeAsync(request, client.Agent!, cancellationToken),
            GrantTypes.Ciba => await PollApprovalAsync(request, client.Agent!, cancellationToken),
            _ => await DenyAsync(request, client.Agent!.Id, new(RefusalCodes.GrantTypeUnsupported,
                OAuthError.UnsupportedGrantType($"The grant type '{DisplayText.Clip(grantType)}' is not supported; use client_credentials, urn:ietf:params:oauth:grant-type:token-exchange or {GrantTypes.Ciba}."),
                "unsupported grant_type"), cancellationToken),
        };
    }

    private async Task<OAuthResult<TokenResponse>> ClientCredentialsAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        var requested = ScopeSet.Parse(request.Get("scope"));
        var target = live.Current.Tools.Resolve(request, requested, inferFromScopes: true);
        if (target.Refusal is { } untargeted)
        {
            return await DenyAsync(request, agent.Id, untargeted with { Reason = untargeted.Error.Description }, cancellationToken, requested);
        }

        var tool = target.Tool!;

        // Reject requests for a tool the agent holds no scope of.
        var permitted = agent.AllowedScopes.Intersect(tool.Scopes);
        if (permitted.IsEmpty)
        {
            return await DenyAsync(request, agent.Id, new(RefusalCodes.TargetNotAllowed, OAuthError.InvalidTarget($"Agent '{agent.Id}' may not reach tool '{tool.Id}'."),
                "tool not in allowed_scopes"), cancellationToken, requested, tool.Id);
        }

        // Reject unbound requests for tools that require proof of possession: a Bearer token must never reach them.
        if (DpopRequirement.RefuseBearer(agent, tool, request.DpopJkt) is { } unbound)
        {
            return await DenyAsync(request, agent.Id, unbound, cancellationToken, requested, tool.Id);
        }

        var (granted, needsApproval, refusal) = Grant(request, requested, permitted, tool);
        if (!needsApproval.IsEmpty)
        {
            // A scope that needs a human's approval is granted only through one: ask, and let the agent poll.
            return await RequestApprovalAsync(request, new ApprovalDraft
            {
                ClientId = agent.Id,
                Tool = tool,
                Scopes = requested.Intersect(permitted),
                Gated = needsApproval,
                TokenLifetime = TokenLifetime.For(agent, live.Config),
                Jkt = request.DpopJkt,
            }, requested, null, cancellationToken);
        }

        if (refusal is not null)
        {
            return await DenyAsync(request, agent.Id, refusal, cancellationToken, requested, tool.Id);
        }

        if (granted.IsEmpty)
        {
            return await DenyAsync(request, agent.Id, new(RefusalCodes.ScopeNoneGranted,
                OAuthError.InvalidScope($"None of the requested scopes is allowed for agent '{agent.Id}' on tool '{tool.Id}'."),
                "no requested scope permitted"), cancellationToken, requested, tool.Id);
        }

        var now = time.GetUtcNow();
        var ttl = TokenLifetime.For(agent, live.Config);
        var claims = new AccessTokenClaims
        {
            Issuer = live.Config.Server.Issuer,
            Subject = agent.Id,
            Audience = tool.Audience,
            ClientId = agent.Id,
            Scope = granted,
            Jti = NewId(),
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = (now + ttl).ToUnixTimeSeconds(),
            Jkt = request.DpopJkt,
        };
        return await _issuer.IssueAsync(claims, new AuditRecord
        {
            Type = AuditTypes.TokenIssued,
            Outcome = AuditOutcomes.Allowed,
            Agent = agent.Id,
            Tool = tool.Id,
            Scopes = [.. granted],
            Jti = claims.Jti,
            Reason = GrantTypes.ClientCredentials,
            RequestId = request.RequestId,
        }, request.PendingChanges, null, cancellationToken);
    }

    /// <summary>
    /// The scopes a request gets of <paramref name="permitted"/> (what the agent, the tool and, in an
    /// exchange, the principal allow): the requested ones, or all when none are named, minus those a
    /// person must approve. When the request names an approval-gated scope, <c>NeedsApproval</c>
    /// holds those and nothing is granted yet. An empty <c>Granted</c> without a refusal means
    /// nothing requested survives; the caller says why in its own words.
    /// </summary>
    private static (ScopeSet Granted, ScopeSet NeedsApproval, Refusal? Refusal) Grant(TokenRequest request, ScopeSet requested, ScopeSet permitted, Tool? tool)
    {
        var gated = tool is null ? ScopeSet.Empty : ApprovalGated(tool, permitted);
        var explicitlyGated = requested.Intersect(gated);
        if (!explicitlyGated.IsEmpty)
        {
            return (ScopeSet.Empty, explicitlyGated, null);
        }

        if (request.Get("authorization_details") is not null)
        {
            return (ScopeSet.Empty, ScopeSet.Empty, new(RefusalCodes.AuthorizationDetailsUnbound, UnboundDetails, "authorization_details without an approval-gated scope"));
        }

        var candidates = WithoutGated(permitted, gated);
        return (requested.IsEmpty ? candidates : requested.Intersect(candidates), ScopeSet.Empty, null);
    }

    /// <summary>
    /// Reject <c>authorization_details</c> on requests no person approves: the token would carry a
    /// binding nobody checked.
    /// </summary>
    private static readonly OAuthError UnboundDetails = new(OAuthErrorCodes.InvalidAuthorizationDetails,
        "authorization_details bind a request that needs approval; request an approval-gated scope with them.");

    private async Task<OAuthResult<TokenResponse>> RequestApprovalAsync(TokenRequest request, ApprovalDraft draft, ScopeSet requested, SubjectToken? subject,
        CancellationToken cancellationToken)
    {
        var (error, created) = await approvals.RequestAsync(draft, request, cancellationToken);
        return created ? error : await DenyAsync(request, draft.ClientId, new(RefusalCodes.ApprovalNotRequested, error, error.Description), cancellationToken, requested, draft.Tool.Id, subject);
    }

    private async Task<OAuthResult<TokenResponse>> PollApprovalAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        var result = await approvals.PollAsync(request, agent, cancellationToken);
        if (result.Succeeded || result.Error!.Code is OAuthErrorCodes.AuthorizationPending or OAuthErrorCodes.SlowDown || result.Error == OAuthError.ServerError)
        {
            // Waiting is not a refusal, and the issuance is on record already; polls every few seconds would only flood the log.
            return result;
        }

        var code = result.Error.Code switch
        {
            OAuthErrorCodes.AccessDenied => RefusalCodes.ApprovalDenied,
            OAuthErrorCodes.ExpiredToken => RefusalCodes.ApprovalExpired,
            _ => RefusalCodes.ApprovalInvalidPoll,
        };
        return await DenyAsync(request, agent.Id, new(code, result.Error, result.Error.Description), cancellationToken);
    }

    private static ScopeSet ApprovalGated(Tool tool, ScopeSet scopes) => scopes.Intersect(tool.ApprovalGatedScopes);

    /// <summary>What <paramref name="scopes"/> leaves once the approval-gated ones are removed.</summary>
    private static ScopeSet WithoutGated(ScopeSet scopes, ScopeSet gated) =>
        gated.IsEmpty ? scopes : ScopeSet.Of(scopes.Where(s => !gated.Contains(s)));

    private async Task<OAuthResult<TokenResponse>> DenyAsync(TokenRequest request, string? agent, Refusal refusal,
        CancellationToken cancellationToken, ScopeSet? requested = null, string? tool = null, SubjectToken? subject = null)
    {
        try
        {
            await _audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.TokenDenied,
                Outcome = AuditOutcomes.Denied,
                Agent = agent,
                Principal = subject?.Principal,
                ActorChain = subject is { ActorChain.Count: > 0 } ? subject.ActorChain : null,
                Mission = subject?.Mission,
                Purpose = subject?.Purpose,
                Tool = tool,
                Scopes = requested is { IsEmpty: false } ? [.. requested.Take(32).Select(s => DisplayText.Clip(s))] : null,
                Reason = $"{refusal.Error.Code}: {refusal.Reason}",
                ReasonCode = refusal.Code,
                RequestId = request.RequestId,
            }, request.PendingChanges, cancellationToken);
        }
        catch (AuditWriteException)
        {
            return OAuthError.ServerError;
        }

        return refusal.Error;
    }

    internal static string NewId() => Base64UrlId(RandomNumberGenerator.GetBytes(16));

    private static string Base64UrlId(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

}
