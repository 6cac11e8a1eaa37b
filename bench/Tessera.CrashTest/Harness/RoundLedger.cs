using System.Collections.Concurrent;

namespace Tessera.CrashTest;

/// <summary>What Tessera acknowledged between one start and the kill that ended it.</summary>
internal sealed class RoundLedger(int kill, DateTimeOffset startedAt)
{
    private readonly ConcurrentQueue<Acknowledged> _acknowledged = new();
    private int _unexpected;

    public int Kill { get; } = kill;

    /// <summary>When the harness started this round's server: every event of the round is later.</summary>
    public DateTimeOffset StartedAt { get; } = startedAt;

    /// <summary>Approvals requested (acknowledged) and not yet approved: the next round denies them, so none stay pending.</summary>
    public ConcurrentDictionary<string, bool> Undecided { get; } = new(StringComparer.Ordinal);

    /// <summary>Answers a live server should not give (a 5xx, an unexpected refusal), with the first few kept to show.</summary>
    public ConcurrentQueue<string> Unexpected { get; } = new();

    public int UnexpectedCount => Volatile.Read(ref _unexpected);

    public IReadOnlyCollection<Acknowledged> Acknowledged => _acknowledged;

    public void Add(ActionKind kind, string id, string? token = null, string? approval = null) => _acknowledged.Enqueue(new Acknowledged(kind, id, token, approval));

    public void NoteUnexpected(string what)
    {
        if (Interlocked.Increment(ref _unexpected) <= 5)
        {
            Unexpected.Enqueue(what);
        }
    }
}
