namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// Checks which rule refused a request, by the refusal's code in the audit log: a test that asserts
/// only the wire error could pass because another check refused first.
/// </summary>
public static class AuditAssert
{
    /// <summary>
    /// Asserts that exactly one event carries <paramref name="code"/>, and that it is a denial of type
    /// <paramref name="type"/>; returns it.
    /// </summary>
    public static async Task<AuditEvent> RefusedOnceAsync(TestBroker broker, string type, string code)
    {
        var events = await broker.AuditEventsAsync();
        var refusal = Assert.Single(events, e => e.Record.ReasonCode == code);
        Assert.Equal(type, refusal.Record.Type);
        Assert.Equal(AuditOutcomes.Denied, refusal.Record.Outcome);
        return refusal;
    }

    /// <summary>Asserts that the last denial recorded is of type <paramref name="type"/> with <paramref name="code"/>; returns it.</summary>
    public static async Task<AuditEvent> LastRefusalAsync(TestBroker broker, string type, string code)
    {
        var events = await broker.AuditEventsAsync();
        var refusal = events.Last(e => e.Record.Outcome == AuditOutcomes.Denied);
        Assert.True(refusal.Record.Type == type && refusal.Record.ReasonCode == code,
            $"expected {type} with reason_code {code}, got {refusal.Record.Type} with {refusal.Record.ReasonCode ?? "none"}: {refusal.Record.Reason}");
        return refusal;
    }
}
