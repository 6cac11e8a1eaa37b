namespace Tessera.Core.Posture;

/// <summary>
/// What an agent did, as kept by the usage counters that ride with the audit log: when it last got
/// a token, and when each scope was last granted to it.
/// </summary>
public sealed record AgentUsage(DateTimeOffset? LastTokenAt, IReadOnlyDictionary<string, DateTimeOffset> ScopesLastGranted)
{
    public static AgentUsage None { get; } = new(null, new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));
}
