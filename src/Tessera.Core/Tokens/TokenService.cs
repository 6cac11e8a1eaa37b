using System.Security.Cryptography;
using Tessera.Core.Audit;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Protocol;

namespace Tessera.Core.Tokens;

/// <summary>
/// The token endpoint's decisions: authenticate the client, apply the grant's rules, sign, and
/// record the decision durably before answering. Every refusal is audited too.
/// </summary>
public sealed partial class TokenService(
    ClientAuthenticator authenticator,
    AgentRegistry agents,
    ToolCatalog tools,
    SigningKeyService keys,
    AuditLog audit,
    AccessTokenValidator validator,
    IdentityProviderRegistry identityProviders,
    Dpop.DpopProofValidator dpop,
    TesseraConfig config,
    Approvals.ApprovalService approvals,
    TimeProvider time)
{
    /// <summary>The token endpoint's path under the issuer: what a token request's DPoP proof names in <c>htu</c>.</summary>
    public const string TokenEndpointPath = "/oauth/token";

    public async Task<OAuthResult<TokenResponse>> HandleAsync(TokenRequest request, CancellationToken cancellationToken)
    {
        // The client is authenticated first: a refusal of anyone else is a failed authentication,
        // which the rate limits count, never an audit event for free.
        var client = await authenticator.AuthenticateAsync(request.Client, cancellationToken);
        request = request with { PendingChanges = client.Changes };
        if (client.Throttled)
        {
            // Refused by a rate limit before anything was checked: counted there and recorded in its summary.
            return client.Error!;
        }

        if (!client.Succeeded)
        {
            return await DenyAsync(request, client.ClaimedClientId, client.Error!, client.Reason!, cancellationToken);
        }

        // Reject token requests missing the mandatory grant_type parameter.
        var grantType = request.Get("grant_type");
        if (string.IsNullOrEmpty(grantType))
        {
            return await DenyAsync(request, client.Agent!.Id, OAuthError.InvalidRequest("The mandatory 'grant_type' parameter is missing."), "grant_type missing", cancellationToken);
        }

        // Reject more than one DPoP header (RFC 9449 §4.3, step 1).
        if (request.DpopProofCount > 1)
        {
            return await DenyAsync(request, client.Agent!.Id, OAuthError.InvalidDpopProof("Send exactly one DPoP header."), "several DPoP headers", cancellationToken);
        }

        if (request.DpopProof is { } proof)
        {
            // Reject a proof that fails any check of RFC 9449 §4.3; a valid one binds the token to its key.
            var binding = await dpop.ValidateAsync(proof, "POST", TokenEndpointPath, null, cancellationToken);
            if (!binding.IsValid)
            {
                return await DenyAsync(request, client.Agent!.Id,
                    new OAuthError(binding.UseNonce ? OAuthErrorCodes.UseDpopNonce : OAuthErrorCodes.InvalidDpopProof, binding.Error!), binding.Error!, cancellationToken);
            }

            request = request with { DpopJkt = binding.Jkt };
        }
        else if (client.Agent!.RequireDpop)
        {
            // Reject unbound requests from agents configured to hold only sender-constrained tokens.
            return await DenyAsync(request, client.Agent.Id,
                OAuthError.InvalidRequest($"Agent '{client.Agent.Id}' receives only DPoP-bound tokens; send a DPoP proof."), "agent requires DPoP", cancellationToken);
        }

        return grantType switch
        {
            GrantTypes.ClientCredentials => await ClientCredentialsAsync(request, client.Agent!, cancellationToken),
            GrantTypes.TokenExchange => await ExchangeAsync(request, client.Agent!, cancellationToken),
            GrantTypes.Ciba => await PollApprovalAsync(request, client.Agent!, cancellationToken),
            _ => await DenyAsync(request, client.Agent!.Id,
                OAuthError.UnsupportedGrantType($"The grant type '{Clip(grantType)}' is not supported; use client_credentials, urn:ietf:params:oauth:grant-type:token-exchange or {GrantTypes.Ciba}."),
                "unsupported grant_type", cancellationToken),
        };
    }

    private async Task<OAuthResult<TokenResponse>> ClientCredentialsAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        var requested = ScopeSet.Parse(request.Get("scope"));
        var target = ResolveTool(request, requested);
        if (!target.Succeeded)
        {
            return await DenyAsync(request, agent.Id, target.Error!, target.Error!.Description, cancellationToken, requested);
        }

        var tool = target.Value!;

        // Reject requests for a tool the agent holds no scope of.
        var permitted = agent.AllowedScopes.Intersect(tool.Scopes);
        if (permitted.IsEmpty)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidTarget($"Agent '{agent.Id}' may not reach tool '{tool.Id}'."),
                "tool not in allowed_scopes", cancellationToken, requested, tool.Id);
        }

        // Reject unbound requests for tools that require proof of possession: a Bearer token must never reach them.
        if (tool.Options.RequireDpop && request.DpopJkt is null)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest($"Tool '{tool.Id}' requires DPoP-bound tokens; send a DPoP proof."),
                "tool requires DPoP", cancellationToken, requested, tool.Id);
        }

        var gated = ApprovalGated(tool, permitted);
        var explicitlyGated = requested.Intersect(gated);
        if (!explicitlyGated.IsEmpty)
        {
            // A scope that needs a human's approval is granted only through one: ask, and let the agent poll.
            return await RequestApprovalAsync(request, new Approvals.ApprovalDraft
            {
                ClientId = agent.Id,
                Tool = tool,
                Scopes = requested.Intersect(permitted),
                Gated = explicitlyGated,
                TokenLifetime = Min(agent.MaxTtl ?? config.Tokens.DefaultTtl, config.Tokens.MaxTtl),
                Jkt = request.DpopJkt,
            }, requested, null, cancellationToken);
        }

        if (request.Get("authorization_details") is not null)
        {
            return await DenyAsync(request, agent.Id, UnboundDetails, "authorization_details without an approval-gated scope", cancellationToken, requested, tool.Id);
        }

        var candidates = WithoutGated(permitted, gated);
        var granted = requested.IsEmpty ? candidates : requested.Intersect(candidates);
        if (granted.IsEmpty)
        {
            return await DenyAsync(request, agent.Id,
                OAuthError.InvalidScope($"None of the requested scopes is allowed for agent '{agent.Id}' on tool '{tool.Id}'."),
                "no requested scope permitted", cancellationToken, requested, tool.Id);
        }

        var now = time.GetUtcNow();
        var ttl = Min(agent.MaxTtl ?? config.Tokens.DefaultTtl, config.Tokens.MaxTtl);
        var claims = new AccessTokenClaims
        {
            Issuer = config.Server.Issuer,
            Subject = agent.Id,
            Audience = tool.Audience,
            ClientId = agent.Id,
            Scope = granted,
            Jti = NewId(),
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = (now + ttl).ToUnixTimeSeconds(),
            Jkt = request.DpopJkt,
        };
        return await IssueAsync(request, claims, new AuditRecord
        {
            Type = AuditTypes.TokenIssued,
            Outcome = AuditOutcomes.Allowed,
            Agent = agent.Id,
            Tool = tool.Id,
            Scopes = [.. granted],
            Jti = claims.Jti,
            Reason = GrantTypes.ClientCredentials,
            RequestId = request.RequestId,
        }, null, null, cancellationToken);
    }

    /// <summary>
    /// Signs <paramref name="claims"/> and answers only once the issuance is on record (with its state
    /// change, if any). Fail closed: a token whose issuance is not on record is never handed out.
    /// </summary>
    private async Task<OAuthResult<TokenResponse>> IssueAsync(TokenRequest request, AccessTokenClaims claims, AuditRecord record, Storage.StateChange? change,
        string? issuedTokenType, CancellationToken cancellationToken)
    {
        var token = JwtSigner.Sign(keys.Current(), claims);
        try
        {
            await audit.AppendAsync(record, change is null ? request.PendingChanges : [.. request.PendingChanges, change], cancellationToken);
        }
        catch (AuditWriteException)
        {
            return OAuthError.ServerError;
        }

        return OAuthResult<TokenResponse>.Ok(new TokenResponse(token, claims.Jkt is null ? "Bearer" : "DPoP", claims.ExpiresAt - claims.IssuedAt, claims.Scope.ToString(), issuedTokenType));
    }

    /// <summary>
    /// Picks the tool from <c>resource</c>/<c>audience</c>, or infers it when every requested scope
    /// names the same tool (docs/reference/http-api.md).
    /// </summary>
    private OAuthResult<Tool> ResolveTool(TokenRequest request, ScopeSet requested)
    {
        var targets = Targets(request);
        if (targets.Count > 1)
        {
            return OAuthError.InvalidTarget("A token is issued for one tool; name a single resource or audience.");
        }

        if (targets.Count == 1)
        {
            return tools.FindByTarget(targets[0]) is { } tool
                ? OAuthResult<Tool>.Ok(tool)
                : OAuthError.InvalidTarget($"No tool is known by '{Clip(targets[0])}'.");
        }

        var named = requested.Tools();
        if (named.Count == 1 && tools.FindById(named[0]) is { } inferred)
        {
            return OAuthResult<Tool>.Ok(inferred);
        }

        return OAuthError.InvalidTarget(named.Count == 0
            ? "Name the tool with 'resource' or 'audience', or request scopes of one tool."
            : "The requested scopes name several or unknown tools; name one tool with 'resource' or 'audience'.");
    }

    /// <summary>
    /// Reject <c>authorization_details</c> on requests no person approves: the token would carry a
    /// binding nobody checked.
    /// </summary>
    private static readonly OAuthError UnboundDetails = new(OAuthErrorCodes.InvalidAuthorizationDetails,
        "authorization_details bind a request that needs approval; request an approval-gated scope with them.");

    private async Task<OAuthResult<TokenResponse>> RequestApprovalAsync(TokenRequest request, Approvals.ApprovalDraft draft, ScopeSet requested, SubjectToken? subject,
        CancellationToken cancellationToken)
    {
        var (error, created) = await approvals.RequestAsync(draft, request, cancellationToken);
        return created ? error : await DenyAsync(request, draft.ClientId, error, error.Description, cancellationToken, requested, draft.Tool.Id, subject);
    }

    private async Task<OAuthResult<TokenResponse>> PollApprovalAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        var result = await approvals.PollAsync(request, agent, cancellationToken);
        if (result.Succeeded || result.Error!.Code is OAuthErrorCodes.AuthorizationPending or OAuthErrorCodes.SlowDown || result.Error == OAuthError.ServerError)
        {
            // Waiting is not a refusal, and the issuance is on record already; polls every few seconds would only flood the log.
            return result;
        }

        return await DenyAsync(request, agent.Id, result.Error, result.Error.Description, cancellationToken);
    }

    private static ScopeSet ApprovalGated(Tool tool, ScopeSet scopes) => scopes.Intersect(tool.ApprovalGatedScopes);

    /// <summary>What <paramref name="scopes"/> leaves once the approval-gated ones are removed.</summary>
    private static ScopeSet WithoutGated(ScopeSet scopes, ScopeSet gated) =>
        gated.IsEmpty ? scopes : ScopeSet.Of(scopes.Where(s => !gated.Contains(s)));

    /// <summary>
    /// The distinct <c>resource</c> and <c>audience</c> values, in order. Most requests name none or
    /// one, so those cases allocate nothing beyond the answer.
    /// </summary>
    private static IReadOnlyList<string> Targets(TokenRequest request)
    {
        if (request.Audiences.Count == 0 && request.Resources.Count <= 1)
        {
            return request.Resources;
        }

        if (request.Resources.Count == 0 && request.Audiences.Count <= 1)
        {
            return request.Audiences;
        }

        return request.Resources.Concat(request.Audiences).Distinct(StringComparer.Ordinal).ToList();
    }

    private async Task<OAuthResult<TokenResponse>> DenyAsync(TokenRequest request, string? agent, OAuthError error, string reason,
        CancellationToken cancellationToken, ScopeSet? requested = null, string? tool = null, SubjectToken? subject = null)
    {
        try
        {
            await audit.AppendAsync(new AuditRecord
            {
                Type = AuditTypes.TokenDenied,
                Outcome = AuditOutcomes.Denied,
                Agent = agent,
                Principal = subject?.Principal,
                ActorChain = subject is { ActorChain.Count: > 0 } ? subject.ActorChain : null,
                Mission = subject?.Mission,
                Purpose = subject?.Purpose,
                Tool = tool,
                Scopes = requested is { IsEmpty: false } ? [.. requested.Take(32).Select(s => Clip(s))] : null,
                Reason = $"{error.Code}: {reason}",
                RequestId = request.RequestId,
            }, request.PendingChanges, cancellationToken);
        }
        catch (AuditWriteException)
        {
            return OAuthError.ServerError;
        }

        return error;
    }

    internal static string NewId() => Base64UrlId(RandomNumberGenerator.GetBytes(16));

    private static string Base64UrlId(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Caller-supplied text echoed in a message or the audit log is cut short.</summary>
    internal static string Clip(string value) => value.Length > 100 ? value[..100] + "…" : value;
}
