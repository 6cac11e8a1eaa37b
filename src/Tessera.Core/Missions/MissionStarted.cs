using Tessera.Core.Storage;

namespace Tessera.Core.Missions;

/// <summary>A new mission, stored with the audit event of the exchange that started it.</summary>
public sealed record MissionStarted(MissionRecord Mission) : StateChange;
