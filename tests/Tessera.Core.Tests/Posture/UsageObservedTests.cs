namespace Tessera.Core.Tests.Posture;

public sealed class UsageObservedTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static AuditEvent Event(AuditRecord record, DateTimeOffset at) =>
        new() { Seq = 1, Time = at, Record = record, PrevHash = AuditEvent.GenesisHash, Hash = AuditEvent.GenesisHash, Json = [] };

    private static AuditRecord Issued(string agent, params string[] scopes) =>
        new() { Type = AuditTypes.TokenIssued, Outcome = AuditOutcomes.Allowed, Agent = agent, Scopes = scopes };

    [Fact]
    public void Tokens_issued_and_exchanged_count_for_their_agent_and_each_granted_scope_the_latest_time_winning()
    {
        var usage = UsageObserved.From(
        [
            Event(Issued("crm-bot", "crm:read"), T0.AddSeconds(2)),
            Event(Issued("crm-bot", "crm:read", "crm:write"), T0),
            Event(Issued("crm-bot") with { Type = AuditTypes.TokenExchanged, Scopes = ["billing:read"] }, T0.AddSeconds(1)),
        ])!;

        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["crm-bot"] = T0.AddSeconds(2) }, usage.Tokens);
        Assert.Equal(new Dictionary<AgentScope, DateTimeOffset>
        {
            [new("crm-bot", "crm:read")] = T0.AddSeconds(2),
            [new("crm-bot", "crm:write")] = T0,
            [new("crm-bot", "billing:read")] = T0.AddSeconds(1),
        }, usage.Scopes);
        Assert.Empty(usage.Rules);
    }

    [Fact]
    public void A_forwarded_request_counts_for_the_rule_and_scope_that_allowed_it()
    {
        var usage = UsageObserved.From(
        [
            Event(new AuditRecord { Type = AuditTypes.ProxyForwarded, Outcome = AuditOutcomes.Allowed, Agent = "crm-bot", Scopes = ["crm:read"], Rule = "GET /contacts/**" }, T0),

            // An MCP lifecycle message is forwarded under no rule.
            Event(new AuditRecord { Type = AuditTypes.ProxyForwarded, Outcome = AuditOutcomes.Allowed, Agent = "crm-bot" }, T0),
        ])!;

        Assert.Equal(new Dictionary<RuleUse, DateTimeOffset> { [new("crm:read", "GET /contacts/**")] = T0 }, usage.Rules);
        Assert.Empty(usage.Tokens);
    }

    [Fact]
    public void Refusals_and_other_events_count_for_nothing()
    {
        Assert.Null(UsageObserved.From(
        [
            Event(Issued("crm-bot", "crm:read") with { Type = AuditTypes.TokenDenied, Outcome = AuditOutcomes.Denied }, T0),
            Event(Issued("crm-bot", "crm:read") with { Outcome = AuditOutcomes.Denied }, T0),
            Event(new AuditRecord { Type = AuditTypes.ProxyDenied, Outcome = AuditOutcomes.Denied, Scopes = ["crm:read"], Rule = "GET /contacts/**" }, T0),
            Event(new AuditRecord { Type = AuditTypes.KeyCreated, Outcome = AuditOutcomes.Allowed }, T0),
        ]));
    }
}
