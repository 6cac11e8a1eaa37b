namespace Tessera.Client;

/// <summary>
/// The agent's side of Tessera: tool tokens (cached, one request for any number of concurrent callers)
/// and missions. Registered as a singleton by <c>AddTesseraAgent</c>.
/// </summary>
public interface ITesseraAgent
{
    /// <summary>The mission of the current async flow (set by <see cref="BeginMissionAsync"/> or <see cref="JoinMissionAsync"/>), or null.</summary>
    TesseraMission? CurrentMission { get; }

    /// <summary>
    /// A token for <paramref name="tool"/> with <paramref name="scopes"/>, from the cache while it is
    /// more than <see cref="TesseraAgentOptions.RefreshBeforeExpiry"/> from expiry. Outside a mission by
    /// <c>client_credentials</c>; inside one by exchanging the mission token.
    /// </summary>
    /// <param name="tool">The tool's id (or audience) in Tessera.</param>
    /// <param name="scopes">The scopes, as <c>tool:scope</c> or just <c>scope</c>; empty asks for everything the agent may have on the tool.</param>
    /// <param name="cancellationToken">Stops waiting (a request shared with other callers goes on).</param>
    /// <exception cref="TesseraApprovalRequiredException">A scope needs a person's approval.</exception>
    /// <exception cref="TesseraTokenException">Tessera refused the request.</exception>
    ValueTask<TesseraToken> GetTokenAsync(string tool, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a mission on behalf of a person: exchanges their token (RFC 8693) for a mission token and
    /// makes it the current mission of this async flow until the returned object is disposed, which
    /// revokes the mission token and every token derived from it.
    /// </summary>
    /// <param name="purpose">Why, recorded with the mission (at most 256 printable characters).</param>
    /// <param name="onBehalfOf">The principal's JWT from an identity provider Tessera trusts.</param>
    /// <param name="ttl">A shorter life for <see cref="TesseraMission.ExpiresAt"/>, for the agent's own bookkeeping; Tessera itself grants the mission token's life (the agent's <c>max_ttl</c>, at most the principal token's), and the token's expiry is what every tool enforces.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    Task<TesseraMission> BeginMissionAsync(string purpose, string onBehalfOf, TimeSpan? ttl = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Joins a mission another agent handed over: exchanges its mission token for this agent's own
    /// (which the other agent's <c>may_delegate_to</c> must allow) and makes it the current mission.
    /// </summary>
    /// <param name="missionToken">The other agent's mission token (<see cref="TesseraMission.Token"/>).</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    Task<TesseraMission> JoinMissionAsync(string missionToken, CancellationToken cancellationToken = default);

    /// <summary>
    /// Asks for an approval bound to one exact request (RFC 9396 <c>authorization_details</c> of type
    /// <c>tessera_request</c> for an HTTP request, <c>tessera_mcp_call</c> for an MCP tool call): the
    /// approver sees that request, and the approved token passes Tessera's proxy only for it. Await <see cref="ApprovalRequest.WaitAsync"/> for the decision; the approved
    /// token is then what an <c>AddTesseraToken(tool, scopes)</c> client sends next.
    /// </summary>
    /// <param name="tool">The tool's id in Tessera.</param>
    /// <param name="scopes">The scopes, at least one of them approval-gated, whose rules allow the request.</param>
    /// <param name="request">The exact request (<see cref="TesseraExactRequest.Http(HttpMethod, string, ReadOnlySpan{byte}, string?, string?)"/> or <see cref="TesseraExactRequest.McpCall"/>).</param>
    /// <param name="reason">Why, shown to the approver (at most 512 characters of text).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="TesseraTokenException">Tessera refused (<c>invalid_authorization_details</c> when no requested scope allows the request, for example).</exception>
    Task<ApprovalRequest> RequestApprovalAsync(string tool, IReadOnlyCollection<string> scopes, TesseraExactRequest request, string? reason = null, CancellationToken cancellationToken = default);
}
