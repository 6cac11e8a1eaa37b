using Tessera.Core.Revocation;

namespace Tessera.Core.Storage;

/// <summary>Durable revocations. New ones arrive as <see cref="RevocationEntry"/> state changes with their audit event.</summary>
public interface IRevocationStore
{
    /// <summary>Every revocation that still matters at <paramref name="now"/> (not yet expired).</summary>
    Task<IReadOnlyList<RevocationEntry>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes revocations whose tokens have all expired; returns how many.</summary>
    Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
