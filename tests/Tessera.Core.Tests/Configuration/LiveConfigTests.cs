namespace Tessera.Core.Tests.Configuration;

public sealed class LiveConfigTests
{
    private static readonly FakeTimeProvider Time = new(ConfigFixture.Now);

    private static ConfigSnapshot Snapshot(string agents = "") => ConfigSnapshot.Build(ConfigFixture.Load(ConfigFixture.Yaml(agents)), Time);

    [Fact]
    public async Task A_flow_that_pinned_a_snapshot_keeps_it_across_a_swap_while_new_flows_take_the_new_one()
    {
        var (old, next) = (Snapshot(), Snapshot());
        var live = new LiveConfig(old);
        var pinned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var swapped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var request = Task.Run(async () =>
        {
            live.Pin();
            var before = live.Current;
            pinned.SetResult();
            await swapped.Task;
            return (before, live.Current);
        }, TestContext.Current.CancellationToken);
        await pinned.Task;
        live.Swap(next);
        swapped.SetResult();
        var (pinnedBefore, pinnedAfter) = await request;

        Assert.Same(old, pinnedBefore);
        Assert.Same(old, pinnedAfter);
        Assert.Same(next, live.Current);
        Assert.Same(next, live.Latest);
    }

    [Fact]
    public async Task A_pin_ends_with_the_flow_that_made_it()
    {
        var (old, next) = (Snapshot(), Snapshot());
        var live = new LiveConfig(old);

        await PinAsync(live);
        live.Swap(next);

        Assert.Same(next, live.Current);

        static async Task PinAsync(LiveConfig live)
        {
            live.Pin();
            await Task.Yield();
        }
    }
}
