namespace Tessera.Client;

/// <summary>A pending approval Tessera opened for a token request (the <c>approval_required</c> answer).</summary>
/// <param name="AuthReqId">The id to poll with (<c>grant_type=urn:openid:params:grant-type:ciba</c>).</param>
/// <param name="Interval">How long to wait between polls.</param>
/// <param name="ExpiresIn">How long the approval stays open, from when it was answered.</param>
/// <param name="Tool">The tool the token was requested for.</param>
/// <param name="Scopes">The scopes requested.</param>
public sealed record ApprovalRequest(string AuthReqId, TimeSpan Interval, TimeSpan ExpiresIn, string Tool, IReadOnlyList<string> Scopes);
