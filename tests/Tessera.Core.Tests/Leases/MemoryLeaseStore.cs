using Tessera.Core.Leases;

namespace Tessera.Core.Tests.Leases;

/// <summary>
/// Leases in memory, as the SQLite store keeps them: opened directly, then moved on only by the
/// <see cref="LeaseStep"/>s the audit log commits (read from <see cref="MemoryAuditStore.Changes"/>,
/// in commit order, before every read). An ended lease stays ended; every step releases the claim.
/// </summary>
internal sealed class MemoryLeaseStore(MemoryAuditStore audit) : ILeaseStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _leases = new(StringComparer.Ordinal);
    private int _folded;

    /// <summary>How many leases were opened (a test can tell nothing was recorded).</summary>
    public int Opened { get; private set; }

    /// <summary>Set to make the next open fail, as a full disk does.</summary>
    public bool FailNextOpen { get; set; }

    public Task OpenAsync(Lease lease, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (FailNextOpen)
            {
                FailNextOpen = false;
                throw new IOException("disk full (simulated)");
            }

            Fold();
            if (lease.Status != LeaseStatus.Issuing || !_leases.TryAdd(lease.Id, new Entry(lease)))
            {
                throw new InvalidOperationException($"lease {lease.Id} is already recorded or not issuing");
            }

            Opened++;
        }

        return Task.CompletedTask;
    }

    public Task<Lease?> FindAsync(string id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Fold();
            return Task.FromResult(_leases.GetValueOrDefault(id)?.Lease);
        }
    }

    /// <summary>The lease as stored now (a test's shorthand for <see cref="FindAsync"/>).</summary>
    public Lease? this[string id] => FindAsync(id, CancellationToken.None).Result;

    public Task<IReadOnlyList<Lease>> LoadLiveAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Fold();
            return Task.FromResult<IReadOnlyList<Lease>>([.. _leases.Values.Select(e => e.Lease).Where(l => l.Status != LeaseStatus.Ended).OrderBy(l => l.CreatedAt)]);
        }
    }

    public Task<IReadOnlyList<Lease>> ListAsync(bool includeEnded, int limit, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Fold();
            return Task.FromResult<IReadOnlyList<Lease>>([.. _leases.Values.Select(e => e.Lease)
                .Where(l => includeEnded || l.Status != LeaseStatus.Ended).OrderByDescending(l => l.CreatedAt).Take(limit)]);
        }
    }

    public Task<IReadOnlyList<string>> ClaimAsync(IReadOnlyList<string> ids, string node, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Fold();
            var claimed = new List<string>();
            foreach (var id in ids)
            {
                if (_leases.GetValueOrDefault(id) is { } entry && entry.Lease.Status != LeaseStatus.Ended
                    && (entry.ClaimedUntil is not { } held || held <= now || entry.ClaimedBy == node))
                {
                    entry.ClaimedBy = node;
                    entry.ClaimedUntil = until;
                    claimed.Add(id);
                }
            }

            return Task.FromResult<IReadOnlyList<string>>(claimed);
        }
    }

    public Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Fold();
            var gone = _leases.Values.Where(e => e.Lease is { Status: LeaseStatus.Ended, EndedAt: { } ended } && ended < before).Select(e => e.Lease.Id).ToList();
            gone.ForEach(id => _leases.Remove(id));
            return Task.FromResult(gone.Count);
        }
    }

    /// <summary>Applies the lease steps committed since the last read, as the SQLite store's guarded UPDATE does.</summary>
    private void Fold()
    {
        var changes = audit.Changes;
        for (; _folded < changes.Count; _folded++)
        {
            if (changes[_folded] is not LeaseStep step || _leases.GetValueOrDefault(step.LeaseId) is not { } entry || entry.Lease.Status == LeaseStatus.Ended)
            {
                continue;
            }

            entry.Lease = entry.Lease with
            {
                Status = step.Status,
                Attempts = step.Attempts,
                NextAttemptAt = step.NextAttemptAt,
                LastError = step.LastError,
                EndReason = step.EndReason ?? entry.Lease.EndReason,
                EndedAt = step.Status == LeaseStatus.Ended ? step.At : entry.Lease.EndedAt,
            };
            entry.ClaimedBy = null;
            entry.ClaimedUntil = null;
        }
    }

    private sealed class Entry(Lease lease)
    {
        public Lease Lease { get; set; } = lease;

        public string? ClaimedBy { get; set; }

        public DateTimeOffset? ClaimedUntil { get; set; }
    }
}
