namespace Tessera.Core.Tests.Audit;

public sealed class AuditCheckpointerTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly AuditHead Head = new(41, new string('b', 64));
    private readonly SigningKey _key = SigningKey.Generate(Now, Now);

    private AuditCheckpointer Checkpointer(int everyEvents = 10)
    {
        var checkpointer = new AuditCheckpointer(new AuditCheckpointOptions(true, everyEvents, TimeSpan.FromMinutes(5)));
        checkpointer.SignWith(_ => _key);
        return checkpointer;
    }

    [Fact]
    public void A_checkpoint_is_due_once_every_events_have_been_appended_since_the_last_and_not_before()
    {
        var checkpointer = Checkpointer(everyEvents: 10);

        Assert.False(checkpointer.IsDue(9, ticked: false));
        checkpointer.Committed(9, cut: false);
        Assert.False(checkpointer.IsDue(0, ticked: false));
        Assert.True(checkpointer.IsDue(1, ticked: false));
        checkpointer.Committed(1, cut: true);

        Assert.False(checkpointer.IsDue(9, ticked: false));
    }

    [Fact]
    public void A_tick_cuts_a_checkpoint_only_when_events_came_since_the_last_one()
    {
        var checkpointer = Checkpointer();

        Assert.False(checkpointer.IsDue(0, ticked: true));
        Assert.True(checkpointer.IsDue(1, ticked: true));
        checkpointer.Committed(1, cut: false);
        Assert.True(checkpointer.IsDue(0, ticked: true));
        checkpointer.Committed(0, cut: true);

        Assert.False(checkpointer.IsDue(0, ticked: true));
    }

    [Fact]
    public void At_start_a_head_that_is_not_a_checkpoint_is_covered_by_the_next_tick_and_one_that_is_needs_none()
    {
        var checkpointer = Checkpointer();

        checkpointer.StartFrom(Head, headIsCheckpoint: false);
        Assert.True(checkpointer.IsDue(0, ticked: true));

        checkpointer.StartFrom(Head, headIsCheckpoint: true);
        Assert.False(checkpointer.IsDue(0, ticked: true));

        checkpointer.StartFrom(new AuditHead(0, AuditEvent.GenesisHash), headIsCheckpoint: false);
        Assert.False(checkpointer.IsDue(0, ticked: true));
    }

    [Fact]
    public void A_cut_signs_the_chains_node_head_seq_head_hash_and_time_with_the_key_that_signs_at_that_time()
    {
        var older = SigningKey.Generate(Now.AddDays(-30), Now.AddDays(-30));
        var checkpointer = new AuditCheckpointer(AuditCheckpointOptions.Default);
        checkpointer.SignWith(at => at >= Now ? _key : older);

        var record = checkpointer.Cut("node-a", Head, Now)!;

        Assert.Equal(AuditTypes.AuditCheckpoint, record.Type);
        Assert.Equal(AuditOutcomes.Allowed, record.Outcome);
        Assert.Equal($"checkpoint of seq 41, signed with key {_key.Kid}", record.Reason);
        var reading = AuditCheckpoint.Read(record.Checkpoint!);
        Assert.Null(reading.Problem);
        Assert.Equal(new AuditCheckpoint("node-a", 41, Head.Hash, Now), reading.Checkpoint);
        Assert.Equal(_key.Kid, reading.Kid);
    }

    [Fact]
    public void No_checkpoint_is_cut_before_the_signing_keys_are_known_or_while_none_signs()
    {
        var checkpointer = new AuditCheckpointer(AuditCheckpointOptions.Default);

        Assert.Null(checkpointer.Cut(null, Head, Now));

        checkpointer.SignWith(_ => null);
        Assert.Null(checkpointer.Cut(null, Head, Now));
    }
}
