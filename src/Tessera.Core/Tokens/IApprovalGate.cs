using Tessera.Core.Identity;
using Tessera.Core.Protocol;

namespace Tessera.Core.Tokens;

/// <summary>
/// What the token endpoint needs of human approval: turn a gated request into a pending approval,
/// and answer a CIBA poll. The approvals side implements it and uses the <see cref="TokenIssuer"/>
/// to issue an approved token, so the dependency runs one way (approvals on tokens).
/// </summary>
public interface IApprovalGate
{
    /// <summary>
    /// Records a pending approval for <paramref name="draft"/> and answers <c>approval_required</c>.
    /// When the request cannot become an approval, returns the refusal with <c>Created</c> false (the caller audits it).
    /// </summary>
    internal Task<(OAuthError Error, bool Created)> RequestAsync(ApprovalDraft draft, TokenRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// A CIBA poll by <paramref name="agent"/>. Pending answers (<c>authorization_pending</c>,
    /// <c>slow_down</c>) are not refusals; the caller audits the others.
    /// </summary>
    internal Task<OAuthResult<TokenResponse>> PollAsync(TokenRequest request, Agent agent, CancellationToken cancellationToken);
}
