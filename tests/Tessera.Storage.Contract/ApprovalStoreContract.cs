using Tessera.Core.Approvals;
using Tessera.Core.Audit;

namespace Tessera.Storage.Contract;

/// <summary>Approvals: each step is stored as taken, once, with its audit event.</summary>
public abstract class ApprovalStoreContract(IStoreDatabase database) : StoreContract(database)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_approval_is_read_back_exactly_as_each_step_left_it()
    {
        var pending = Approval("a1");
        await AppendAsync(new ApprovalRequested(pending));
        var approved = pending with { Status = ApprovalStatus.Approved, DecidedBy = "corp:bob", DecidedAt = T0.AddMinutes(1), Comment = "ok" };
        await AppendAsync(new ApprovalDecided(approved, ApprovalStatus.Pending));

        var loaded = Assert.Single(await Store.Approvals.LoadAsync(T0.AddDays(1), Ct));
        Assert.Equal(approved with { Scopes = loaded.Scopes, GatedScopes = loaded.GatedScopes, ActorChain = loaded.ActorChain, Lineage = loaded.Lineage }, loaded);
        Assert.Equal(approved.Scopes, loaded.Scopes);
        Assert.Equal(approved.ActorChain, loaded.ActorChain);
        Assert.Equal(approved.Lineage, loaded.Lineage);
    }

    [Fact]
    public async Task A_step_from_a_status_the_approval_is_no_longer_in_fails_the_whole_commit()
    {
        var pending = Approval("a2");
        await AppendAsync(new ApprovalRequested(pending));
        await AppendAsync(new ApprovalDecided(pending with { Status = ApprovalStatus.Denied, DecidedBy = "corp:dave" }, ApprovalStatus.Pending));

        // A second decision (or a token) from "pending" must not commit, nor the event that records it.
        var head = await Store.Audit.GetHeadAsync(Ct);
        await Assert.ThrowsAnyAsync<Exception>(() => AppendAsync(new ApprovalDecided(pending with { Status = ApprovalStatus.Approved, DecidedBy = "corp:bob" }, ApprovalStatus.Pending)));
        await Assert.ThrowsAnyAsync<Exception>(() => AppendAsync(new ApprovalRedeemed(pending with { Status = ApprovalStatus.Redeemed })));
        Assert.Equal(head, await Store.Audit.GetHeadAsync(Ct));

        var loaded = Assert.Single(await Store.Approvals.LoadAsync(T0, Ct));
        Assert.Equal(ApprovalStatus.Denied, loaded.Status);
        Assert.Equal("corp:dave", loaded.DecidedBy);
    }

    [Fact]
    public async Task Open_approvals_load_however_old_and_closed_ones_only_when_recent()
    {
        await AppendAsync(new ApprovalRequested(Approval("open")));
        var closed = Approval("closed");
        await AppendAsync(new ApprovalRequested(closed));
        await AppendAsync(new ApprovalDecided(closed with { Status = ApprovalStatus.Expired }, ApprovalStatus.Pending));

        Assert.Equal(["open"], (await Store.Approvals.LoadAsync(T0.AddDays(2), Ct)).Select(a => a.Id));
        Assert.Equal(["closed", "open"], (await Store.Approvals.LoadAsync(T0, Ct)).Select(a => a.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Pruning_deletes_only_ended_approvals_that_expired_before_the_cut()
    {
        await AppendAsync(new ApprovalRequested(Approval("open")));
        var approved = Approval("approved");
        await AppendAsync(new ApprovalRequested(approved));
        await AppendAsync(new ApprovalDecided(approved with { Status = ApprovalStatus.Approved }, ApprovalStatus.Pending));
        var denied = Approval("denied");
        await AppendAsync(new ApprovalRequested(denied));
        await AppendAsync(new ApprovalDecided(denied with { Status = ApprovalStatus.Denied }, ApprovalStatus.Pending));
        var recent = Approval("recent") with { ExpiresAt = T0.AddDays(3) };
        await AppendAsync(new ApprovalRequested(recent));
        await AppendAsync(new ApprovalDecided(recent with { Status = ApprovalStatus.Expired }, ApprovalStatus.Pending));

        Assert.Equal(1, await Store.Approvals.PruneAsync(T0.AddDays(1), Ct));

        Assert.Equal(["approved", "open", "recent"], (await Store.Approvals.LoadAsync(T0, Ct)).Select(a => a.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Two_instances_deciding_one_approval_at_once_commit_exactly_one_decision()
    {
        // Two nodes of one installation take the same step at the same moment: the conditional
        // update lets one through, and the other's whole commit (its event included) fails.
        var pending = Approval("a3");
        await AppendAsync(new ApprovalRequested(pending));
        await using var other = await OpenMigratedAsync();
        var head = await Store.Audit.GetHeadAsync(Ct);
        var approve = Chain.Next(new AuditRecord { Type = AuditTypes.ApprovalApproved, Outcome = AuditOutcomes.Allowed }, T0);
        var deny = Chain.Next(new AuditRecord { Type = AuditTypes.ApprovalDenied, Outcome = AuditOutcomes.Denied }, T0);

        var attempts = await Task.WhenAll(
            Attempt(Store, approve, new ApprovalDecided(pending with { Status = ApprovalStatus.Approved, DecidedBy = "corp:bob" }, ApprovalStatus.Pending)),
            Attempt(other, deny, new ApprovalDecided(pending with { Status = ApprovalStatus.Denied, DecidedBy = "corp:dave" }, ApprovalStatus.Pending)));

        var winner = Assert.Single(attempts, a => a.Committed);
        var loaded = Assert.Single(await Store.Approvals.LoadAsync(T0, Ct));
        Assert.Equal(winner.Status, loaded.Status);
        Assert.Equal(1, await Store.Audit.CountAsync(new AuditQuery { AfterSeq = head.Seq }, Ct));

        static async Task<(bool Committed, string Status)> Attempt(Tessera.Core.Storage.ITesseraStore store, AuditEvent e, ApprovalDecided change)
        {
            await Task.Yield();
            try
            {
                await store.Audit.AppendAsync([e], [change], Ct);
                return (true, change.Approval.Status);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.Data.Common.DbException)
            {
                return (false, change.Approval.Status);
            }
        }
    }

    private Task AppendAsync(ApprovalChange change) =>
        Store.Audit.AppendAsync([Chain.Next(new AuditRecord { Type = AuditTypes.ApprovalRequested, Outcome = AuditOutcomes.Allowed }, T0)], [change], Ct);

    private static ApprovalRequest Approval(string id) => new()
    {
        Id = id,
        Status = ApprovalStatus.Pending,
        ClientId = "support-agent",
        Principal = "alice",
        Idp = "corp",
        ActorChain = ["support-agent"],
        Tool = "crm",
        Audience = "urn:tessera:tool:crm",
        Scopes = ["crm:export", "crm:read"],
        GatedScopes = ["crm:export"],
        Mission = "m_1",
        StartsMission = true,
        Lineage = ["m_1"],
        Reason = "customer asked",
        AuthorizationDetails = """[{"type":"tessera_request","tool":"crm","method":"POST","path":"/exports","body_sha256":"00"}]""",
        Group = "security-oncall",
        CreatedAt = T0,
        ExpiresAt = T0.AddMinutes(10),
        Interval = 5,
        Ttl = TimeSpan.FromMinutes(2),
        MaxUses = 1,
        TokenLifetime = TimeSpan.FromMinutes(2),
        NotAfter = T0.AddMinutes(30),
        Jkt = "thumb",
    };
}
