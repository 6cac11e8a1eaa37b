using Tessera.Core.Approvals;

namespace Tessera.Benchmarks;

/// <summary>No approvals: the benchmarked requests never need one.</summary>
internal sealed class NullApprovalStore : IApprovalStore
{
    public Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<ApprovalRequest>>([]);

    public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken) => Task.FromResult(0);
}
