using Tessera.Core.Audit;
using Tessera.Core.Leases;

namespace Tessera.Storage.Contract;

/// <summary>Leases: recorded before their credential exists, moved on with their audit events, claimed by one node at a time, pruned once ended.</summary>
public abstract class LeaseStoreContract(IStoreDatabase database) : StoreContract(database)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public async Task An_opened_lease_is_found_with_every_field_as_written()
    {
        var full = Lease("l-full", T0.AddMilliseconds(1)) with
        {
            Principal = "alice",
            ActorChain = ["planner", "support-agent"],
            Mission = "m-1",
            Purpose = "Answer ticket 42",
            Lineage = ["jti-root", "m-1"],
            Scopes = ["db:read", "db:write"],
            Node = "node-a",
        };
        var bare = Lease("l-bare", T0.AddMilliseconds(2)) with { Scopes = [] };
        await Store.Leases.OpenAsync(full, Ct);
        await Store.Leases.OpenAsync(bare, Ct);

        AssertSame(full, await Store.Leases.FindAsync("l-full", Ct));
        AssertSame(bare, await Store.Leases.FindAsync("l-bare", Ct));
        Assert.Null(await Store.Leases.FindAsync("l-none", Ct));
    }

    [Fact]
    public async Task Live_leases_leave_out_ended_ones_and_come_oldest_first()
    {
        await Store.Leases.OpenAsync(Lease("l-2", T0.AddSeconds(2)), Ct);
        await Store.Leases.OpenAsync(Lease("l-1", T0.AddSeconds(1)), Ct);
        await Store.Leases.OpenAsync(Lease("l-3", T0.AddSeconds(3)), Ct);
        await StepAsync(new LeaseStep("l-1", LeaseStatus.Active, T0.AddSeconds(4)));
        await StepAsync(new LeaseStep("l-3", LeaseStatus.Ended, T0.AddSeconds(5), EndReason: "expired"));

        var live = await Store.Leases.LoadLiveAsync(Ct);

        Assert.Equal(["l-1", "l-2"], live.Select(l => l.Id));
        Assert.Equal([LeaseStatus.Active, LeaseStatus.Issuing], live.Select(l => l.Status));
    }

    [Fact]
    public async Task The_list_is_newest_first_with_or_without_ended_leases_and_keeps_to_its_limit()
    {
        for (var i = 1; i <= 4; i++)
        {
            await Store.Leases.OpenAsync(Lease($"l-{i}", T0.AddSeconds(i)), Ct);
        }

        await StepAsync(new LeaseStep("l-3", LeaseStatus.Ended, T0.AddSeconds(5), EndReason: "token revoked"));

        Assert.Equal(["l-4", "l-2", "l-1"], (await Store.Leases.ListAsync(includeEnded: false, 10, Ct)).Select(l => l.Id));
        Assert.Equal(["l-4", "l-3", "l-2", "l-1"], (await Store.Leases.ListAsync(includeEnded: true, 10, Ct)).Select(l => l.Id));
        Assert.Equal(["l-4", "l-3"], (await Store.Leases.ListAsync(includeEnded: true, 2, Ct)).Select(l => l.Id));
        Assert.Equal(["l-4", "l-2"], (await Store.Leases.ListAsync(includeEnded: false, 2, Ct)).Select(l => l.Id));
    }

    [Fact]
    public async Task A_lease_step_is_stored_with_its_audit_event()
    {
        await Store.Leases.OpenAsync(Lease("l-1", T0), Ct);

        await StepAsync(new LeaseStep("l-1", LeaseStatus.Active, T0.AddSeconds(1)), AuditTypes.LeaseIssued);
        var active = await Store.Leases.FindAsync("l-1", Ct);
        Assert.Equal((LeaseStatus.Active, 0, (DateTimeOffset?)null, (string?)null, (string?)null, (DateTimeOffset?)null),
            (active!.Status, active.Attempts, active.NextAttemptAt, active.LastError, active.EndReason, active.EndedAt));

        await StepAsync(new LeaseStep("l-1", LeaseStatus.Ending, T0.AddSeconds(2), 2, T0.AddSeconds(32).AddMilliseconds(7), "connection refused", "token revoked"),
            AuditTypes.LeaseRevokeFailed);
        var ending = await Store.Leases.FindAsync("l-1", Ct);
        Assert.Equal((LeaseStatus.Ending, 2, (DateTimeOffset?)T0.AddSeconds(32).AddMilliseconds(7), "connection refused", "token revoked", (DateTimeOffset?)null),
            (ending!.Status, ending.Attempts, ending.NextAttemptAt, ending.LastError, ending.EndReason, ending.EndedAt));

        // The reason it ends is kept when the last step names none.
        await StepAsync(new LeaseStep("l-1", LeaseStatus.Ended, T0.AddSeconds(40).AddMilliseconds(9), 2), AuditTypes.LeaseRevoked);
        var ended = await Store.Leases.FindAsync("l-1", Ct);
        Assert.Equal((LeaseStatus.Ended, 2, (DateTimeOffset?)null, (string?)null, "token revoked", (DateTimeOffset?)T0.AddSeconds(40).AddMilliseconds(9)),
            (ended!.Status, ended.Attempts, ended.NextAttemptAt, ended.LastError, ended.EndReason, ended.EndedAt));

        Assert.Equal(3, (await Store.Audit.GetHeadAsync(Ct)).Seq);
        Assert.Equal([AuditTypes.LeaseIssued, AuditTypes.LeaseRevokeFailed, AuditTypes.LeaseRevoked],
            (await Store.Audit.QueryAsync(new AuditQuery(), Ct)).OrderBy(e => e.Seq).Select(e => e.Record.Type));
    }

    [Fact]
    public async Task A_step_on_an_ended_lease_changes_nothing_and_its_event_still_lands()
    {
        await Store.Leases.OpenAsync(Lease("l-1", T0), Ct);
        await StepAsync(new LeaseStep("l-1", LeaseStatus.Ended, T0.AddSeconds(1), 1, null, "first", "expired"));
        var ended = await Store.Leases.FindAsync("l-1", Ct);

        // A slower node's late step: an attempt failed, or ended again.
        await StepAsync(new LeaseStep("l-1", LeaseStatus.Ending, T0.AddSeconds(2), 5, T0.AddSeconds(9), "late", "token revoked"));
        await StepAsync(new LeaseStep("l-1", LeaseStatus.Ended, T0.AddSeconds(3), 6, null, "later", "forced"));

        AssertSame(ended!, await Store.Leases.FindAsync("l-1", Ct));
        Assert.Equal(3, (await Store.Audit.GetHeadAsync(Ct)).Seq);
    }

    [Fact]
    public async Task A_lease_held_by_one_node_is_claimed_by_another_only_once_the_claim_expires()
    {
        await using var other = await OpenMigratedAsync();
        await Store.Leases.OpenAsync(Lease("l-1", T0), Ct);
        await Store.Leases.OpenAsync(Lease("l-2", T0.AddSeconds(1)), Ct);
        await Store.Leases.OpenAsync(Lease("l-ended", T0.AddSeconds(2)), Ct);
        await StepAsync(new LeaseStep("l-ended", LeaseStatus.Ended, T0.AddSeconds(3)));

        Assert.Equal(["l-1"], await Store.Leases.ClaimAsync(["l-1", "l-ended"], "node-a", T0, T0.AddSeconds(30), Ct));
        Assert.Equal(["l-2"], await other.Leases.ClaimAsync(["l-1", "l-2", "l-ended", "l-none"], "node-b", T0.AddSeconds(29), T0.AddSeconds(59), Ct));

        // The holder claims again (and extends); the other node only when the claim has run out.
        Assert.Equal(["l-1"], await Store.Leases.ClaimAsync(["l-1"], "node-a", T0.AddSeconds(29), T0.AddSeconds(60), Ct));
        Assert.Empty(await other.Leases.ClaimAsync(["l-1"], "node-b", T0.AddSeconds(59), T0.AddSeconds(90), Ct));
        Assert.Equal(["l-1"], await other.Leases.ClaimAsync(["l-1"], "node-b", T0.AddSeconds(60), T0.AddSeconds(90), Ct));
        Assert.Empty(await Store.Leases.ClaimAsync(["l-1"], "node-a", T0.AddSeconds(61), T0.AddSeconds(91), Ct));
        Assert.Empty(await Store.Leases.ClaimAsync([], "node-a", T0, T0.AddSeconds(30), Ct));

        // An ended lease is never claimed, not even once every claim is long gone.
        Assert.Empty(await Store.Leases.ClaimAsync(["l-ended"], "node-a", T0.AddDays(1), T0.AddDays(2), Ct));
    }

    [Fact]
    public async Task A_step_releases_the_claim()
    {
        await using var other = await OpenMigratedAsync();
        await Store.Leases.OpenAsync(Lease("l-1", T0), Ct);
        Assert.Equal(["l-1"], await Store.Leases.ClaimAsync(["l-1"], "node-a", T0, T0.AddSeconds(30), Ct));
        Assert.Empty(await other.Leases.ClaimAsync(["l-1"], "node-b", T0.AddSeconds(1), T0.AddSeconds(31), Ct));

        await StepAsync(new LeaseStep("l-1", LeaseStatus.Ending, T0.AddSeconds(2), 1, T0.AddSeconds(4), "connection refused", "expired"));

        Assert.Equal(["l-1"], await other.Leases.ClaimAsync(["l-1"], "node-b", T0.AddSeconds(3), T0.AddSeconds(33), Ct));
    }

    [Fact]
    public async Task Pruning_deletes_only_leases_that_ended_before_the_cut_off()
    {
        await Store.Leases.OpenAsync(Lease("l-old", T0), Ct);
        await Store.Leases.OpenAsync(Lease("l-recent", T0.AddSeconds(1)), Ct);
        await Store.Leases.OpenAsync(Lease("l-live", T0.AddSeconds(2)), Ct);
        await Store.Leases.OpenAsync(Lease("l-ending", T0.AddSeconds(3)), Ct);
        await StepAsync(new LeaseStep("l-old", LeaseStatus.Ended, T0.AddMinutes(1)));
        await StepAsync(new LeaseStep("l-recent", LeaseStatus.Ended, T0.AddMinutes(2)));
        await StepAsync(new LeaseStep("l-ending", LeaseStatus.Ending, T0.AddMinutes(1), 1, T0.AddMinutes(3), "refused"));

        Assert.Equal(0, await Store.Leases.PruneAsync(T0.AddMinutes(1), Ct));
        Assert.Equal(1, await Store.Leases.PruneAsync(T0.AddMinutes(2), Ct));

        Assert.Equal(["l-ending", "l-live", "l-recent"], (await Store.Leases.ListAsync(includeEnded: true, 10, Ct)).Select(l => l.Id));
        Assert.Null(await Store.Leases.FindAsync("l-old", Ct));
    }

    /// <summary>A new lease as <see cref="Lease.Open"/> records it, created at <paramref name="createdAt"/>.</summary>
    protected static Lease Lease(string id, DateTimeOffset createdAt) => new()
    {
        Id = id,
        Tool = "orders-db",
        Username = LeaseNames.RoleOf(id),
        Status = LeaseStatus.Issuing,
        Agent = "report-bot",
        Jti = "jti-" + id,
        TokenIssuedAt = createdAt.ToUnixTimeSeconds(),
        Scopes = ["db:read"],
        CreatedAt = createdAt,
        ExpiresAt = createdAt.AddMinutes(15).AddMilliseconds(1),
    };

    /// <summary>Writes <paramref name="step"/> with an audit event of <paramref name="type"/>, as the lease service does.</summary>
    protected Task StepAsync(LeaseStep step, string type = AuditTypes.LeaseRevoked) =>
        Store.Audit.AppendAsync([Chain.Next(Record(agent: "report-bot", tool: "orders-db", type: type), step.At)], [step], Ct);

    /// <summary>Every field equal, the lists element by element.</summary>
    private static void AssertSame(Lease expected, Lease? found)
    {
        Assert.NotNull(found);
        Assert.Equal(expected with { ActorChain = found.ActorChain, Lineage = found.Lineage, Scopes = found.Scopes }, found);
        Assert.Equal(expected.ActorChain, found.ActorChain);
        Assert.Equal(expected.Lineage, found.Lineage);
        Assert.Equal(expected.Scopes, found.Scopes);
    }
}
