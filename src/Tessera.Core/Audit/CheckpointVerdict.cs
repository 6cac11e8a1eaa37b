namespace Tessera.Core.Audit;

/// <summary>What verifying one exported checkpoint against the log found: whether it holds, and a line saying why.</summary>
/// <param name="Exported">The checkpoint as the file holds it.</param>
/// <param name="Holds">True when the log still holds what the checkpoint signed, under a key of this Tessera.</param>
/// <param name="Message">One line naming the checkpoint and, on failure, what the log lost (stable wording, for scripts and alerts).</param>
public sealed record CheckpointVerdict(ExportedCheckpoint Exported, bool Holds, string Message);
