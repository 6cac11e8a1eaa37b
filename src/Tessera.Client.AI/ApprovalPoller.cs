namespace Tessera.Client.AI;

/// <summary>
/// Waits for the decision on an approval by polling the token endpoint with the CIBA grant: first after
/// the server's interval, 5 s more after each <c>slow_down</c>, until a token, <c>access_denied</c> or
/// <c>expired_token</c>. A minimal poller of this package's own; the core package's awaitable approval
/// (<c>ApprovalRequest.WaitAsync</c>) does the same for every caller.
/// </summary>
internal static class ApprovalPoller
{
    public const string CibaGrant = "urn:openid:params:grant-type:ciba";

    private static readonly TimeSpan SlowDownStep = TimeSpan.FromSeconds(5);

    public static async Task<ApprovalDecision> WaitAsync(TesseraAgent agent, ApprovalRequest request, string scope, CancellationToken cancellationToken)
    {
        var interval = request.Interval > TimeSpan.Zero ? request.Interval : SlowDownStep;
        KeyValuePair<string, string>[] poll = [new("grant_type", CibaGrant), new("auth_req_id", request.AuthReqId)];
        while (true)
        {
            await Task.Delay(interval, agent.Time, cancellationToken).ConfigureAwait(false);
            try
            {
                return new ApprovalDecision(await agent.Endpoint.RequestTokenAsync(poll, request.Tool, scope, cancellationToken).ConfigureAwait(false), null);
            }
            catch (TesseraTokenException ex) when (ex.Error == "authorization_pending")
            {
            }
            catch (TesseraTokenException ex) when (ex.Error == "slow_down")
            {
                interval += SlowDownStep;
            }
            catch (TesseraTokenException ex) when (ex.Error == "access_denied")
            {
                return new ApprovalDecision(null, "the approver denied the call" + Described(ex));
            }
            catch (TesseraTokenException ex) when (ex.Error == "expired_token")
            {
                return new ApprovalDecision(null, "the approval expired before anyone decided" + Described(ex));
            }
        }
    }

    private static string Described(TesseraTokenException ex) => ex.ErrorDescription is { Length: > 0 } description ? ": " + description : "";
}
