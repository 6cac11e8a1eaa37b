namespace Tessera.Core.Storage;

/// <summary>Spent one-time identifiers (client assertion <c>jti</c>s); new ones arrive as <see cref="Identity.AssertionUsed"/>.</summary>
public interface IReplayStore
{
    Task<IReadOnlyList<(string Key, DateTimeOffset ExpiresAt)>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken);

    Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
