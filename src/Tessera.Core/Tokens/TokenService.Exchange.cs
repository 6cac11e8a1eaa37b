using Microsoft.IdentityModel.JsonWebTokens;
using Tessera.Core.Audit;
using Tessera.Core.Identity;
using Tessera.Core.Missions;
using Tessera.Core.Protocol;
using Tessera.Core.Tools;

namespace Tessera.Core.Tokens;

/// <summary>RFC 8693 token exchange: an agent acting for a principal, possibly through other agents.</summary>
public sealed partial class TokenService
{
    private const int MaxPurposeLength = 256;

    /// <summary>
    /// The exchange in its steps: the request's parameters, the subject token, the actor chain, the
    /// target tool, the scopes granted, and the issuance. Each step returns its result or a refusal,
    /// which is audited with what is known by then.
    /// </summary>
    private async Task<OAuthResult<TokenResponse>> ExchangeAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken)
    {
        var requested = ScopeSet.Parse(request.Get("scope"));
        var subjectText = request.Get("subject_token");
        var purpose = request.Get("purpose");
        if (ExchangeParameters(request, subjectText, purpose) is { } malformed)
        {
            return await DenyAsync(request, agent.Id, malformed, cancellationToken, requested);
        }

        var (subject, subjectCode, subjectProblem) = await ReadSubjectAsync(subjectText!, cancellationToken);
        if (subject is null)
        {
            return await DenyAsync(request, agent.Id, new(subjectCode!, OAuthError.InvalidRequest($"The subject_token is not acceptable: {subjectProblem}."),
                $"subject token refused: {subjectProblem}"), cancellationToken, requested);
        }

        // Delegation is decided by what the subject token carries, never by which parameters are present.
        var (chain, undelegated) = DelegationChain(subject, agent);
        if (undelegated is not null)
        {
            return await DenyAsync(request, agent.Id, undelegated, cancellationToken, requested, subject: subject);
        }

        var (tool, untargeted) = ExchangeTarget(request, agent, requested);
        if (untargeted is not null)
        {
            return await DenyAsync(request, agent.Id, untargeted, cancellationToken, requested, tool?.Id, subject);
        }

        // Granted = requested ∩ subject's scope ∩ principal ceiling ∩ agent allowed_scopes ∩ tool scopes.
        var permitted = PrincipalScope(subject).Intersect(agent.AllowedScopes);
        if (tool is not null)
        {
            permitted = permitted.Intersect(tool.Scopes);
        }

        var (granted, needsApproval, refusal) = Grant(request, requested, permitted, tool);
        if (!needsApproval.IsEmpty)
        {
            return await RequestApprovalAsync(request, ExchangeDraft(request, agent, subject, chain!, tool!, requested.Intersect(permitted), needsApproval, purpose),
                requested, subject, cancellationToken);
        }

        if (refusal is null && granted.IsEmpty)
        {
            refusal = new(RefusalCodes.ScopeNoneGranted, OAuthError.InvalidScope("Nothing requested survives the principal's, the subject token's, the agent's and the tool's scopes."),
                "no requested scope permitted");
        }

        if (refusal is not null)
        {
            return await DenyAsync(request, agent.Id, refusal, cancellationToken, requested, tool?.Id, subject);
        }

        return await IssueExchangedAsync(request, agent, subject, chain!, tool, granted, requested, purpose, cancellationToken);
    }

    /// <summary>The exchange's own parameters (RFC 8693 §2.1), checked before the subject token is read.</summary>
    private static Refusal? ExchangeParameters(TokenRequest request, string? subjectText, string? purpose)
    {
        // Reject exchanges without a subject token or with a type we do not accept (RFC 8693 §2.1).
        var subjectType = request.Get("subject_token_type");
        if (subjectText is null || subjectType is null)
        {
            return new(RefusalCodes.SubjectTokenMissing, OAuthError.InvalidRequest("Token exchange needs 'subject_token' and 'subject_token_type'."), "subject token missing");
        }

        if (subjectType is not (TokenTypes.Jwt or TokenTypes.AccessToken))
        {
            return new(RefusalCodes.SubjectTokenTypeUnsupported, OAuthError.InvalidRequest($"subject_token_type must be {TokenTypes.Jwt} or {TokenTypes.AccessToken}."), "unsupported subject_token_type");
        }

        // Reject actor tokens: the authenticated client is the actor, and nobody may name another.
        if (request.Get("actor_token") is not null || request.Get("actor_token_type") is not null)
        {
            return new(RefusalCodes.ActorTokenNotAccepted, OAuthError.InvalidRequest("actor_token is not accepted: the authenticated client is the actor."), "actor_token sent");
        }

        // Reject a requested token type we cannot issue.
        if (request.Get("requested_token_type") is { } wanted && wanted is not (TokenTypes.AccessToken or TokenTypes.Jwt))
        {
            return new(RefusalCodes.RequestedTokenTypeUnsupported, OAuthError.InvalidRequest($"Only {TokenTypes.AccessToken} can be issued."), "unsupported requested_token_type");
        }

        // Reject a purpose a person would read differently from what it says (DisplayText): it is
        // shown with the mission, in tokens' claims and in the audit log.
        if (purpose is not null && !DisplayText.IsDisplayable(purpose, MaxPurposeLength))
        {
            return new(RefusalCodes.PurposeInvalid, OAuthError.InvalidRequest($"'purpose' must be at most {MaxPurposeLength} characters of printable text (no control or formatting characters)."),
                "malformed purpose");
        }

        return null;
    }

    /// <summary>
    /// The tool the exchanged token is for, or none for a mission token (no target named; an
    /// exchange never infers its tool from scopes). The tool is returned with its refusal too, so
    /// the refusal is audited with it.
    /// </summary>
    private (Tool? Tool, Refusal? Refusal) ExchangeTarget(TokenRequest request, Agent agent, ScopeSet requested)
    {
        var target = live.Current.Tools.Resolve(request, requested, inferFromScopes: false);
        if (target.Tool is not { } tool)
        {
            return (null, target.Refusal);
        }

        // Reject tools the acting agent may never reach, whatever the principal could.
        if (agent.AllowedScopes.ForTool(tool.Id).IsEmpty)
        {
            return (tool, new(RefusalCodes.TargetNotAllowed, OAuthError.InvalidTarget($"Agent '{agent.Id}' may not reach tool '{tool.Id}'."), "tool not in allowed_scopes"));
        }

        return (tool, DpopRequirement.RefuseBearer(agent, tool, request.DpopJkt));
    }

    /// <summary>What an exchange that needs a person's approval would get, for the approval to hold until it is decided.</summary>
    private ApprovalDraft ExchangeDraft(TokenRequest request, Agent agent, SubjectToken subject, IReadOnlyList<string> chain, Tool tool, ScopeSet scopes,
        ScopeSet gated, string? purpose)
    {
        // A principal's own token starts a mission; the mission starts when the approved token is issued.
        var startsMission = subject.Mission is null;
        var missionId = subject.Mission ?? "m_" + NewId();
        return new ApprovalDraft
        {
            ClientId = agent.Id,
            Principal = subject.Principal,
            Idp = subject.Idp,
            ActorChain = chain,
            Tool = tool,
            Scopes = scopes,
            Gated = gated,
            Mission = missionId,
            Purpose = startsMission ? purpose : subject.Purpose,
            StartsMission = startsMission,
            Lineage = startsMission ? [missionId] : [.. subject.Lineage, subject.Jti!],
            TokenLifetime = TokenLifetime.For(agent, live.Config),
            NotAfter = subject.ExpiresAt,
            Jkt = request.DpopJkt,
        };
    }

    /// <summary>
    /// Issues the exchanged token: a tool token, or a mission token when no tool was named. A
    /// principal's own token starts a mission, on record with the issuance.
    /// </summary>
    private Task<OAuthResult<TokenResponse>> IssueExchangedAsync(TokenRequest request, Agent agent, SubjectToken subject, IReadOnlyList<string> chain, Tool? tool,
        ScopeSet granted, ScopeSet requested, string? purposeParameter, CancellationToken cancellationToken)
    {
        // A derived token never outlives the token it was derived from.
        var now = time.GetUtcNow();
        var expires = TokenLifetime.ExpiresAt(now, TokenLifetime.For(agent, live.Config), subject.ExpiresAt);
        var expiresAt = expires.ToUnixTimeSeconds();
        if (expiresAt <= now.ToUnixTimeSeconds())
        {
            return DenyAsync(request, agent.Id, new(RefusalCodes.SubjectTokenEndOfLife, OAuthError.InvalidRequest("The subject_token is not acceptable: it expires now."),
                "subject token at end of life"), cancellationToken, requested, tool?.Id, subject);
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
            Issuer = live.Config.Server.Issuer,
            Subject = subject.Principal,
            Audience = tool?.Audience ?? live.Config.Server.Issuer,
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
        return _issuer.IssueAsync(claims, new AuditRecord
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
        }, started is null ? request.PendingChanges : [.. request.PendingChanges, started], TokenTypes.AccessToken, cancellationToken);
    }

    /// <summary>
    /// The actor chain of the new token. A principal's token: the client is the first actor, if the
    /// token's <c>may_act</c> allows it. Our mission token: its holder keeps the depth; another agent
    /// needs the holder's <c>may_delegate_to</c> and adds one level, up to <c>max_delegation_depth</c>.
    /// </summary>
    private (IReadOnlyList<string>? Chain, Refusal? Refusal) DelegationChain(SubjectToken subject, Agent agent)
    {
        IReadOnlyList<string> chain;
        if (subject.ActorChain.Count == 0)
        {
            // Reject actors the principal's token does not allow (RFC 8693 §4.4 may_act).
            if (subject.HasMayAct && subject.MayAct != agent.Id)
            {
                return (null, Undelegated(RefusalCodes.DelegationMayActMismatch, $"The subject token's may_act does not name agent '{agent.Id}'."));
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
            var holder = live.Current.Agents.Find(subject.CurrentActor!);
            if (holder is null || !holder.MayDelegateTo.Contains(agent.Id))
            {
                return (null, Undelegated(RefusalCodes.DelegationNotAllowed, $"Agent '{subject.CurrentActor}' may not delegate to agent '{agent.Id}'."));
            }

            chain = [.. subject.ActorChain, agent.Id];
        }

        if (chain.Count > live.Config.Tokens.MaxDelegationDepth)
        {
            return (null, Undelegated(RefusalCodes.DelegationTooDeep, $"Delegation would be {chain.Count} agents deep; at most {live.Config.Tokens.MaxDelegationDepth} are allowed."));
        }

        return (chain, null);
    }

    private static Refusal Undelegated(string code, string problem) => new(code, OAuthError.InvalidRequest(problem), problem);

    /// <summary>
    /// What the principal may delegate through this subject token (docs/delegation.md): the token's scope ∩
    /// the configured ceiling; when one is absent the other applies; when both are absent, nothing.
    /// </summary>
    private ScopeSet PrincipalScope(SubjectToken subject)
    {
        var ceiling = live.Current.PrincipalCeiling(subject.Idp, subject.Principal);
        return (subject.Scope, ceiling) switch
        {
            (null, null) => ScopeSet.Empty,
            ({ } s, null) => s,
            (null, { } c) => c,
            ({ } s, { } c) => s.Intersect(c),
        };
    }

    private async Task<(SubjectToken? Subject, string? Code, string? Problem)> ReadSubjectAsync(string token, CancellationToken cancellationToken)
    {
        string? issuer;
        try
        {
            // A token we already verified is ours: skip parsing it again to learn its issuer.
            issuer = validator.IsKnown(token) ? live.Config.Server.Issuer : new JsonWebToken(token).Issuer;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            // FormatException: a segment that is not base64url.
            return (null, RefusalCodes.SubjectTokenNotJwt, "it is not a JWT");
        }

        if (issuer == live.Config.Server.Issuer)
        {
            var validation = await validator.ValidateAsync(token, cancellationToken);
            if (!validation.IsActive)
            {
                return validation.Status switch
                {
                    TokenStatus.Expired => (null, RefusalCodes.SubjectTokenExpired, "it has expired"),
                    TokenStatus.Revoked => (null, RefusalCodes.SubjectTokenRevoked, "it has been revoked"),
                    TokenStatus.LifetimeExceeded => (null, RefusalCodes.SubjectTokenLifetimeExceeded, "its lifetime exceeds tokens.max_ttl, or it was issued in the future"),
                    _ => (null, RefusalCodes.SubjectTokenInvalid, "it is not a valid token of this server"),
                };
            }

            var c = validation.Claims!;

            // Reject tool tokens: only a principal's JWT or a mission token can be exchanged.
            if (c.Audience != live.Config.Server.Issuer || c.Mission is null || c.Idp is null || c.ActorChain.Count == 0)
            {
                return (null, RefusalCodes.SubjectTokenToolToken, "only a principal's token or a mission token can be exchanged, not a tool token");
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
            }, null, null);
        }

        var (principal, reason) = await live.Current.IdentityProviders.ValidateAsync(token, IdentityTokenUse.Delegation, cancellationToken);
        if (principal is null)
        {
            return (null, RefusalCodes.SubjectTokenRejected, reason);
        }

        // Reject principal tokens that already carry another issuer's delegation: we cannot vouch for those actors.
        if (principal.HasAct)
        {
            return (null, RefusalCodes.SubjectTokenForeignActors, "it already carries an actor chain from another issuer");
        }

        return (new SubjectToken
        {
            Principal = principal.Subject,
            Idp = principal.Provider.Options.Id,
            Scope = principal.Scope,
            ExpiresAt = principal.ExpiresAt,
            MayAct = principal.MayActSubject,
            HasMayAct = principal.HasMayAct,
        }, null, null);
    }
}
