using Tessera.Core.Audit;

namespace Tessera.Core.Storage;

/// <summary>
/// The values a store keeps beside an event's hashed JSON so that queries can filter on them (time,
/// type, agent, principal, mission, tool), as read back from storage. They are not hashed: the
/// verifier checks that each agrees with the JSON, or a changed column would hide an event from
/// <c>audit query --agent</c> while the chain still verified.
/// </summary>
/// <param name="TimeMs">Unix milliseconds, or null when the stored value is not an integer.</param>
/// <param name="Type">The event type.</param>
/// <param name="Agent">The agent, or null.</param>
/// <param name="Principal">The principal, or null.</param>
/// <param name="Mission">The mission, or null.</param>
/// <param name="Tool">The tool, or null.</param>
public sealed record AuditColumns(long? TimeMs, string? Type, string? Agent, string? Principal, string? Mission, string? Tool)
{
    /// <summary>The columns an event is stored with.</summary>
    public static AuditColumns Of(AuditEvent e) =>
        new(e.Time.ToUnixTimeMilliseconds(), e.Record.Type, e.Record.Agent, e.Record.Principal, e.Record.Mission, e.Record.Tool);
}
