using System.Runtime.CompilerServices;

namespace Tessera.Core.Tests.Audit;

/// <summary>A store that only hands out the rows it was given, as they are (tampered ones included), for the verifier.</summary>
internal sealed class RowAuditStore(IReadOnlyList<AuditRow> rows) : IAuditStore
{
    public Task<AuditHead> GetHeadAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task AppendAsync(IReadOnlyList<AuditEvent> events, IReadOnlyList<StateChange> changes, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public async IAsyncEnumerable<AuditRow> ReadRowsAsync(long fromSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (var row in rows.Where(r => r.Seq >= fromSeq))
        {
            yield return row;
        }
    }

    public Task<IReadOnlyList<AuditEvent>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();

    public Task<long> CountAsync(AuditQuery query, CancellationToken cancellationToken) => throw new NotSupportedException();
}
