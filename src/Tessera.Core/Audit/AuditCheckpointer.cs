using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Tokens;

namespace Tessera.Core.Audit;

/// <summary>
/// Decides when the audit writer cuts a signed checkpoint and signs it: once
/// <see cref="AuditCheckpointOptions.EveryEvents"/> events have been appended since the last one (at
/// the end of the batch that reached the count), and on each tick of the writer's timer
/// (<see cref="AuditCheckpointOptions.Every"/> after the last checkpoint) when any event came since,
/// so a quiet log gets no checkpoints at all. Each node's writer appends only to its own chain, so a
/// chain's checkpoints are all cut by the node that writes it. Only the writer loop calls it, so it
/// holds plain fields: the append path pays one addition and one comparison per batch.
/// </summary>
public sealed class AuditCheckpointer(AuditCheckpointOptions options)
{
    private Func<DateTimeOffset, SigningKey?>? _signingKeyAt;

    /// <summary>Events appended since the last checkpoint.</summary>
    private long _uncovered;

    public AuditCheckpointOptions Options => options;

    /// <summary>
    /// The key source, known once the signing keys are loaded (they are stored through the audit log,
    /// so the log starts first); until then no checkpoint is cut and the events wait for the next one.
    /// </summary>
    public void SignWith(Func<DateTimeOffset, SigningKey?> signingKeyAt) => Volatile.Write(ref _signingKeyAt, signingKeyAt);

    /// <summary>
    /// Where the stored chain stands at start: an event at its head that is not a checkpoint is not
    /// covered by one, so the next tick cuts one. How many such events there are is not counted (that
    /// would mean reading the chain back to its last checkpoint); the count starts again at one.
    /// </summary>
    internal void StartFrom(AuditHead head, bool headIsCheckpoint) => _uncovered = head.Seq == 0 || headIsCheckpoint ? 0 : 1;

    /// <summary>Whether the batch of <paramref name="appending"/> events ends with a checkpoint.</summary>
    internal bool IsDue(int appending, bool ticked)
    {
        var uncovered = _uncovered + appending;
        return uncovered > 0 && (ticked || uncovered >= options.EveryEvents);
    }

    /// <summary>
    /// The checkpoint event of <paramref name="node"/>'s chain at <paramref name="head"/>, signed now by
    /// the key that signs tokens now; null while no key signs (the keys are not loaded yet).
    /// </summary>
    internal AuditRecord? Cut(string? node, AuditHead head, DateTimeOffset now)
    {
        if (Volatile.Read(ref _signingKeyAt)?.Invoke(now) is not { } key)
        {
            return null;
        }

        var checkpoint = new AuditCheckpoint(node, head.Seq, head.Hash, now);
        return new AuditRecord
        {
            Type = AuditTypes.AuditCheckpoint,
            Outcome = AuditOutcomes.Allowed,
            Reason = $"checkpoint of seq {head.Seq}, signed with key {key.Kid}",
            Checkpoint = checkpoint.Sign(key),
        };
    }

    /// <summary>A batch of <paramref name="appended"/> events is durable, ending with a checkpoint or not.</summary>
    internal void Committed(int appended, bool cut) => _uncovered = cut ? 0 : _uncovered + appended;
}
