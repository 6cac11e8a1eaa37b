using System.Runtime.CompilerServices;

namespace Tessera.Benchmarks;

/// <summary>An audit store that keeps nothing: isolates the CPU cost of a path from the disk.</summary>
internal sealed class NullAuditStore : IAuditStore
{
    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken) => Task.FromResult(new AuditHead(0, AuditEvent.GenesisHash));

    public Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken) => Task.CompletedTask;

    public async IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        yield break;
    }

    public Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<AuditEvent>>([]);
}
