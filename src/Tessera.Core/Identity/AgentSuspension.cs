using Tessera.Core.Storage;

namespace Tessera.Core.Identity;

/// <summary>An agent suspended (no new tokens) or resumed, stored with the audit event that records it.</summary>
public sealed record AgentSuspension(string AgentId, bool Suspended, DateTimeOffset At) : StateChange;
