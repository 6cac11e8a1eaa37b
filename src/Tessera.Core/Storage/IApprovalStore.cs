using Tessera.Core.Approvals;

namespace Tessera.Core.Storage;

/// <summary>Approval requests; every change arrives as an <see cref="ApprovalChange"/> with its audit event.</summary>
public interface IApprovalStore
{
    /// <summary>Approvals still open (pending or approved) and those created at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Deletes ended approvals (neither pending nor approved) that expired before <paramref name="before"/>; returns how many.</summary>
    Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken);
}
