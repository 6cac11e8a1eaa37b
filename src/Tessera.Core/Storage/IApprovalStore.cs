using Tessera.Core.Approvals;

namespace Tessera.Core.Storage;

/// <summary>Approval requests; every change arrives as an <see cref="ApprovalChange"/> with its audit event.</summary>
public interface IApprovalStore
{
    /// <summary>Approvals still open (pending or approved) and those created at or after <paramref name="since"/>.</summary>
    Task<IReadOnlyList<ApprovalRequest>> LoadAsync(DateTimeOffset since, CancellationToken cancellationToken);
}
