namespace Tessera.Core.Tests.Revocation;

/// <summary>A revocation store with nothing stored before the test (revocations reach the index through the audit log's state changes).</summary>
internal sealed class NoRevocations : IRevocationStore
{
    public Task<IReadOnlyList<RevocationEntry>> LoadActiveAsync(DateTimeOffset now, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<RevocationEntry>>([]);

    public Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken) => Task.FromResult(0);
}
