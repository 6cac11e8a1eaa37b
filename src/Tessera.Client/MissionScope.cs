namespace Tessera.Client;

/// <summary>
/// What the agent's AsyncLocal holds: a mission (set once its exchange succeeds) over the scope that
/// was current before it. A holder, not the mission itself, because an AsyncLocal set inside an async
/// method is undone when it returns: the holder is set synchronously in the caller's flow and filled
/// in when the exchange completes.
/// </summary>
internal sealed class MissionScope(MissionScope? previous)
{
    public MissionScope? Previous { get; } = previous;

    public volatile TesseraMission? Mission;

    public volatile bool Ended;

    /// <summary>The mission in force here: this one while it is set and not ended, otherwise the previous scope's.</summary>
    public TesseraMission? Current
    {
        get
        {
            for (var scope = this; scope is not null; scope = scope.Previous)
            {
                if (!scope.Ended && scope.Mission is { } mission)
                {
                    return mission;
                }
            }

            return null;
        }
    }
}
