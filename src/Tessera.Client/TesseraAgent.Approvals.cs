namespace Tessera.Client;

/// <summary>The agent's explicit approvals: a request bound to one exact call, awaited through <see cref="ApprovalRequest"/>.</summary>
internal sealed partial class TesseraAgent
{
    internal const string CibaGrant = "urn:openid:params:grant-type:ciba";

    public async Task<ApprovalRequest> RequestApprovalAsync(string tool, IReadOnlyCollection<string> scopes, TesseraExactRequest request, string? reason = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(request);
        var endpoint = Endpoint;
        var scope = TokenKey.NormalizeScope(tool, scopes);
        var mission = CurrentMission;
        var parameters = new List<KeyValuePair<string, string>>(7);
        if (mission is null)
        {
            parameters.Add(new("grant_type", "client_credentials"));
        }
        else
        {
            parameters.Add(new("grant_type", TokenExchange));
            parameters.Add(new("subject_token", mission.Token));
            parameters.Add(new("subject_token_type", AccessTokenType));
        }

        parameters.Add(new("resource", tool));
        if (scope.Length > 0)
        {
            parameters.Add(new("scope", scope));
        }

        if (!string.IsNullOrEmpty(reason))
        {
            parameters.Add(new("reason", reason));
        }

        parameters.Add(new("authorization_details", request.ToAuthorizationDetails(tool)));
        try
        {
            await endpoint.RequestTokenAsync(parameters, tool, scope, cancellationToken).ConfigureAwait(false);
        }
        catch (TesseraApprovalRequiredException pending)
        {
            // The approved token is what the handler for this tool and these scopes sends next: the exact request.
            var slot = _slots.GetOrAdd(new TokenKey(tool, scope, mission?.Id), static _ => new TokenSlot());
            pending.Approval.Approved = approved => slot.Token = approved;
            return pending.Approval;
        }

        // Tessera binds authorization_details only through an approval; a token without one binds nothing.
        throw new TesseraTokenException("invalid_response", "Tessera issued a token without asking for approval; an exact-request approval needs an approval-gated scope.", 200);
    }
}
