using Microsoft.IdentityModel.JsonWebTokens;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Missions;
using Tessera.Core.Protocol;

namespace Tessera.Core.Tokens;

/// <summary>RFC 8693 token exchange: an agent acting for a principal, possibly through other agents.</summary>
public sealed partial class TokenService
{
    private const int MaxPurposeLength = 256;

    private async Task<OAuthResult<TokenResponse>> ExchangeAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        var requested = ScopeSet.Parse(request.Get("scope"));

        // Reject exchanges without a subject token or with a type we do not accept (RFC 8693 §2.1).
        var subjectText = request.Get("subject_token");
        var subjectType = request.Get("subject_token_type");
        if (subjectText is null || subjectType is null)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest("Token exchange needs 'subject_token' and 'subject_token_type'."),
                "subject token missing", cancellationToken, requested);
        }

        if (subjectType is not (TokenTypes.Jwt or TokenTypes.AccessToken))
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest($"subject_token_type must be {TokenTypes.Jwt} or {TokenTypes.AccessToken}."),
                "unsupported subject_token_type", cancellationToken, requested);
        }

        // Reject actor tokens: the authenticated client is the actor, and nobody may name another.
        if (request.Get("actor_token") is not null || request.Get("actor_token_type") is not null)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest("actor_token is not accepted: the authenticated client is the actor."),
                "actor_token sent", cancellationToken, requested);
        }

        if (request.Get("requested_token_type") is { } wanted && wanted is not (TokenTypes.AccessToken or TokenTypes.Jwt))
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest($"Only {TokenTypes.AccessToken} can be issued."),
                "unsupported requested_token_type", cancellationToken, requested);
        }

        // Reject a purpose a person would read differently from what it says (DisplayText): it is
        // shown with the mission, in tokens' claims and in the audit log.
        var purposeParameter = request.Get("purpose");
        if (purposeParameter is not null && !DisplayText.IsDisplayable(purposeParameter, MaxPurposeLength))
        {
            return await DenyAsync(request, agent.Id,
                OAuthError.InvalidRequest($"'purpose' must be at most {MaxPurposeLength} characters of printable text (no control or formatting characters)."),
                "malformed purpose", cancellationToken, requested);
        }

        var (subject, subjectProblem) = await ReadSubjectAsync(subjectText, cancellationToken);
        if (subject is null)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest($"The subject_token is not acceptable: {subjectProblem}."),
                $"subject token refused: {subjectProblem}", cancellationToken, requested);
        }

        // Delegation is decided by what the subject token carries, never by which parameters are present.
        var chain = DelegationChain(subject, agent, out var delegationProblem);
        if (chain is null)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest(delegationProblem!), delegationProblem!, cancellationToken, requested, subject: subject);
        }

        var targets = Targets(request);
        Tool? tool = null;
        if (targets.Count > 1)
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidTarget("A token is issued for one tool; name a single resource or audience."),
                "several targets", cancellationToken, requested, subject: subject);
        }

        if (targets.Count == 1)
        {
            tool = tools.FindByTarget(targets[0]);
            if (tool is null)
            {
                return await DenyAsync(request, agent.Id, OAuthError.InvalidTarget($"No tool is known by '{Clip(targets[0])}'."),
                    "unknown target", cancellationToken, requested, subject: subject);
            }

            // Reject tools the acting agent may never reach, whatever the principal could.
            if (agent.AllowedScopes.ForTool(tool.Id).IsEmpty)
            {
                return await DenyAsync(request, agent.Id, OAuthError.InvalidTarget($"Agent '{agent.Id}' may not reach tool '{tool.Id}'."),
                    "tool not in allowed_scopes", cancellationToken, requested, tool.Id, subject);
            }

            if (tool.Options.RequireDpop && request.DpopJkt is null)
            {
                return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest($"Tool '{tool.Id}' requires DPoP-bound tokens; send a DPoP proof."),
                    "tool requires DPoP", cancellationToken, requested, tool.Id, subject);
            }
        }

        // Granted = requested ∩ subject's scope ∩ principal ceiling ∩ agent allowed_scopes ∩ tool scopes.
        var permitted = PrincipalScope(subject).Intersect(agent.AllowedScopes);
        ScopeSet gated = ScopeSet.Empty;
        if (tool is not null)
        {
            permitted = permitted.Intersect(tool.Scopes);
            gated = ApprovalGated(tool, permitted);
            var explicitlyGated = requested.Intersect(gated);
            if (!explicitlyGated.IsEmpty)
            {
                // A principal's own token starts a mission; the mission starts when the approved token is issued.
                var startsMission = subject.Mission is null;
                var missionId = subject.Mission ?? "m_" + NewId();
                return await RequestApprovalAsync(request, new Approvals.ApprovalDraft
                {
                    ClientId = agent.Id,
                    Principal = subject.Principal,
                    Idp = subject.Idp,
                    ActorChain = chain,
                    Tool = tool,
                    Scopes = requested.Intersect(permitted),
                    Gated = explicitlyGated,
                    Mission = missionId,
                    Purpose = startsMission ? purposeParameter : subject.Purpose,
                    StartsMission = startsMission,
                    Lineage = startsMission ? [missionId] : [.. subject.Lineage, subject.Jti!],
                    TokenLifetime = Min(agent.MaxTtl ?? config.Tokens.DefaultTtl, config.Tokens.MaxTtl),
                    NotAfter = subject.ExpiresAt,
                    Jkt = request.DpopJkt,
                }, requested, subject, cancellationToken);
            }
        }

        if (request.Get("authorization_details") is not null)
        {
            return await DenyAsync(request, agent.Id, UnboundDetails, "authorization_details without an approval-gated scope", cancellationToken, requested, tool?.Id, subject);
        }

        var candidates = WithoutGated(permitted, gated);
        var granted = requested.IsEmpty ? candidates : requested.Intersect(candidates);
        if (granted.IsEmpty)
        {
            return await DenyAsync(request, agent.Id,
                OAuthError.InvalidScope("Nothing requested survives the principal's, the subject token's, the agent's and the tool's scopes."),
                "no requested scope permitted", cancellationToken, requested, tool?.Id, subject);
        }

        // A derived token never outlives the token it was derived from.
        var now = time.GetUtcNow();
        var expires = Min(now + Min(agent.MaxTtl ?? config.Tokens.DefaultTtl, config.Tokens.MaxTtl), subject.ExpiresAt);
        var expiresAt = expires.ToUnixTimeSeconds();
        if (expiresAt <= now.ToUnixTimeSeconds())
        {
            return await DenyAsync(request, agent.Id, OAuthError.InvalidRequest("The subject_token is not acceptable: it expires now."),
                "subject token at end of life", cancellationToken, requested, tool?.Id, subject);
        }

        var jti = NewId();
        MissionStarted? started = null;
        string mission;
        string? purpose;
        IReadOnlyList<string> lineage;
        if (subject.Mission is null)
        {
            // A principal's own token starts a mission: every delegated credential belongs to one.
            mission = "m_" + NewId();
            purpose = purposeParameter;
            lineage = [mission];
            started = new MissionStarted(new MissionRecord(mission, subject.Principal, subject.Idp, chain, purpose, now, expires));
        }
        else
        {
            mission = subject.Mission;
            purpose = subject.Purpose;
            lineage = [.. subject.Lineage, subject.Jti!];
        }

        var claims = new AccessTokenClaims
        {
            Issuer = config.Server.Issuer,
            Subject = subject.Principal,
            Audience = tool?.Audience ?? config.Server.Issuer,
            ClientId = agent.Id,
            Scope = granted,
            Jti = jti,
            IssuedAt = now.ToUnixTimeSeconds(),
            ExpiresAt = expiresAt,
            ActorChain = chain,
            Mission = mission,
            Purpose = purpose,
            Idp = subject.Idp,
            Lineage = lineage,
            Jkt = request.DpopJkt,
        };
        return await IssueAsync(request, claims, new AuditRecord
        {
            Type = AuditTypes.TokenExchanged,
            Outcome = AuditOutcomes.Allowed,
            Principal = subject.Principal,
            Agent = agent.Id,
            ActorChain = chain,
            Mission = mission,
            Purpose = purpose,
            Tool = tool?.Id,
            Scopes = [.. granted],
            Jti = jti,
            Reason = (started is not null ? "mission started; " : "") + (tool is null ? $"mission token at depth {chain.Count}" : $"tool token at depth {chain.Count}")
                + (subject.Jti is null ? "" : $", from {subject.Jti}"),
            RequestId = request.RequestId,
        }, started, TokenTypes.AccessToken, cancellationToken);
    }

    /// <summary>
    /// The actor chain of the new token. A principal's token: the client is the first actor, if the
    /// token's <c>may_act</c> allows it. Our mission token: its holder keeps the depth; another agent
    /// needs the holder's <c>may_delegate_to</c> and adds one level, up to <c>max_delegation_depth</c>.
    /// </summary>
    private IReadOnlyList<string>? DelegationChain(SubjectToken subject, Agent agent, out string? problem)
    {
        problem = null;
        IReadOnlyList<string> chain;
        if (subject.ActorChain.Count == 0)
        {
            // Reject actors the principal's token does not allow (RFC 8693 §4.4 may_act).
            if (subject.HasMayAct && subject.MayAct != agent.Id)
            {
                problem = $"The subject token's may_act does not name agent '{agent.Id}'.";
                return null;
            }

            chain = [agent.Id];
        }
        else if (subject.CurrentActor == agent.Id)
        {
            chain = subject.ActorChain;
        }
        else
        {
            // Reject taking another agent's token unless that agent may delegate to this one.
            var holder = agents.Find(subject.CurrentActor!);
            if (holder is null || !holder.MayDelegateTo.Contains(agent.Id))
            {
                problem = $"Agent '{subject.CurrentActor}' may not delegate to agent '{agent.Id}'.";
                return null;
            }

            chain = [.. subject.ActorChain, agent.Id];
        }

        if (chain.Count > config.Tokens.MaxDelegationDepth)
        {
            problem = $"Delegation would be {chain.Count} agents deep; at most {config.Tokens.MaxDelegationDepth} are allowed.";
            return null;
        }

        return chain;
    }

    /// <summary>
    /// What the principal may delegate through this subject token (docs/delegation.md): the token's scope ∩
    /// the configured ceiling; when one is absent the other applies; when both are absent, nothing.
    /// </summary>
    private ScopeSet PrincipalScope(SubjectToken subject)
    {
        var ceiling = config.Principals.FirstOrDefault(p => p.Idp == subject.Idp && p.Sub == subject.Principal) is { } p ? ScopeSet.Of(p.Scopes) : null;
        return (subject.Scope, ceiling) switch
        {
            (null, null) => ScopeSet.Empty,
            ({ } s, null) => s,
            (null, { } c) => c,
            ({ } s, { } c) => s.Intersect(c),
        };
    }

    private async Task<(SubjectToken? Subject, string? Problem)> ReadSubjectAsync(string token, CancellationToken cancellationToken)
    {
        string? issuer;
        try
        {
            // A token we already verified is ours: skip parsing it again to learn its issuer.
            issuer = validator.IsKnown(token) ? config.Server.Issuer : new JsonWebToken(token).Issuer;
        }
        catch (ArgumentException)
        {
            return (null, "it is not a JWT");
        }

        if (issuer == config.Server.Issuer)
        {
            var validation = await validator.ValidateAsync(token, cancellationToken);
            if (!validation.IsActive)
            {
                return (null, validation.Status switch
                {
                    TokenStatus.Expired => "it has expired",
                    TokenStatus.Revoked => "it has been revoked",
                    TokenStatus.LifetimeExceeded => "its lifetime exceeds tokens.max_ttl, or it was issued in the future",
                    _ => "it is not a valid token of this server",
                });
            }

            var c = validation.Claims!;

            // Reject tool tokens: only a principal's JWT or a mission token can be exchanged.
            if (c.Audience != config.Server.Issuer || c.Mission is null || c.Idp is null || c.ActorChain.Count == 0)
            {
                return (null, "only a principal's token or a mission token can be exchanged, not a tool token");
            }

            return (new SubjectToken
            {
                Principal = c.Subject,
                Idp = c.Idp,
                Scope = c.Scope,
                ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(c.ExpiresAt),
                ActorChain = c.ActorChain,
                Mission = c.Mission,
                Purpose = c.Purpose,
                Jti = c.Jti,
                Lineage = c.Lineage,
            }, null);
        }

        var (principal, reason) = await identityProviders.ValidateAsync(token, IdentityTokenUse.Delegation, cancellationToken);
        if (principal is null)
        {
            return (null, reason);
        }

        // Reject principal tokens that already carry another issuer's delegation: we cannot vouch for those actors.
        if (principal.HasAct)
        {
            return (null, "it already carries an actor chain from another issuer");
        }

        return (new SubjectToken
        {
            Principal = principal.Subject,
            Idp = principal.Provider.Options.Id,
            Scope = principal.Scope,
            ExpiresAt = principal.ExpiresAt,
            MayAct = principal.MayActSubject,
            HasMayAct = principal.HasMayAct,
        }, null);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
