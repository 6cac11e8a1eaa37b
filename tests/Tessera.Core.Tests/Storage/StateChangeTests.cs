using System.Runtime.CompilerServices;
using Tessera.Core.Leases;

namespace Tessera.Core.Tests.Storage;

public sealed class StateChangeTests
{
    /// <summary>Every kind of change Core can produce: each concrete <see cref="StateChange"/> in its assembly, found by reflection so a new kind is in this list without anyone adding it.</summary>
    public static TheoryData<Type> Kinds => new(typeof(StateChange).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(StateChange)) && !t.IsAbstract)
        .OrderBy(t => t.FullName, StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Every_kind_of_change_reaches_a_method_every_store_must_implement(Type kind)
    {
        // The values do not matter for routing; any instance of the kind will do.
        var change = (StateChange)RuntimeHelpers.GetUninitializedObject(kind);
        var applied = new List<(string Method, StateChange Change)>();

        await change.ApplyAsync(new RecordingStateChangeApplier(), applied, TestContext.Current.CancellationToken);

        Assert.Same(change, Assert.Single(applied).Change);
    }

    [Fact]
    public async Task A_new_approval_is_inserted_and_every_later_step_is_the_guarded_update()
    {
        var applied = new List<(string Method, StateChange Change)>();
        var applier = new RecordingStateChangeApplier();
        foreach (var kind in new[] { typeof(ApprovalRequested), typeof(ApprovalDecided), typeof(ApprovalRedeemed) })
        {
            await ((StateChange)RuntimeHelpers.GetUninitializedObject(kind)).ApplyAsync(applier, applied, TestContext.Current.CancellationToken);
        }

        Assert.Equal(
            [nameof(RecordingStateChangeApplier.RequestApprovalAsync), nameof(RecordingStateChangeApplier.StepApprovalAsync), nameof(RecordingStateChangeApplier.StepApprovalAsync)],
            applied.Select(a => a.Method));
    }

    [Fact]
    public async Task A_lease_step_reaches_the_stores_lease_step()
    {
        var applied = new List<(string Method, StateChange Change)>();
        var step = new LeaseStep("l-1", LeaseStatus.Ended, DateTimeOffset.UnixEpoch, EndReason: "expired");

        await step.ApplyAsync(new RecordingStateChangeApplier(), applied, TestContext.Current.CancellationToken);

        Assert.Equal([(nameof(RecordingStateChangeApplier.StepLeaseAsync), (StateChange)step)], applied);
    }

    [Fact]
    public async Task A_kind_defined_outside_core_fails_closed_instead_of_being_reported_durable()
    {
        var applied = new List<(string Method, StateChange Change)>();

        await Assert.ThrowsAsync<NotSupportedException>(() => new ForeignChange().ApplyAsync(new RecordingStateChangeApplier(), applied, TestContext.Current.CancellationToken));

        Assert.Empty(applied);
    }

    private sealed record ForeignChange : StateChange;
}
