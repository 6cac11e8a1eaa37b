using Tessera.Core.Posture;

namespace Tessera.Core.Tests.Audit;

public sealed class AuditLogTests
{
    private readonly MemoryAuditStore _store = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Events_get_consecutive_sequence_numbers_and_chain_their_hashes()
    {
        await using var log = await StartAsync();

        var first = await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(3));
        var second = await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);
        var third = await log.AppendAsync(Record("r3"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal([1L, 2L, 3L], new[] { first.Seq, second.Seq, third.Seq });
        Assert.Equal(AuditEvent.GenesisHash, first.PrevHash);
        Assert.Equal(first.Hash, second.PrevHash);
        Assert.Equal(second.Hash, third.PrevHash);
        foreach (var e in new[] { first, second, third })
        {
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(e.Json)), e.Hash);
            using var json = JsonDocument.Parse(e.Json);
            Assert.Equal(e.Seq, json.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal(e.PrevHash, json.RootElement.GetProperty("prev_hash").GetString());
        }

        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(3), first.Time);
        Assert.Equal(_time.GetUtcNow(), second.Time);
        Assert.Equal(3, log.LastSeq);
        Assert.Equal([first.Hash, second.Hash, third.Hash], _store.Events.Select(e => e.Hash));
    }

    [Fact]
    public async Task State_changes_are_handed_to_the_store_with_their_event()
    {
        await using var log = await StartAsync();
        var entry = new RevocationEntry(RevocationKind.Mission, "m-1", _time.GetUtcNow(), _time.GetUtcNow().AddHours(1));

        await log.AppendAsync(Record("r1"), entry, TestContext.Current.CancellationToken);

        // The batch also carries the usage counters' update for its token event (the next test).
        Assert.Equal([entry], _store.Changes.Where(c => c is not UsageObserved));
    }

    [Fact]
    public async Task A_batch_carries_the_usage_counters_update_of_its_events_and_a_batch_without_usage_carries_none()
    {
        await using var log = await StartAsync();

        await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);
        await log.AppendAsync(new AuditRecord { Type = AuditTypes.KeyCreated, Outcome = AuditOutcomes.Allowed }, cancellationToken: TestContext.Current.CancellationToken);

        var usage = Assert.IsType<UsageObserved>(Assert.Single(_store.Changes));
        Assert.Equal(_time.GetUtcNow(), usage.Tokens["support-agent"]);
        Assert.Equal(_time.GetUtcNow(), usage.Scopes[new AgentScope("support-agent", "crm:read")]);
    }

    [Fact]
    public async Task A_thousand_concurrent_appends_all_complete_with_unique_sequence_numbers_and_a_valid_chain()
    {
        await using var log = await StartAsync();

        var appends = Enumerable.Range(0, 1000)
            .Select(i => Task.Run(() => log.AppendAsync(Record($"req-{i}"), cancellationToken: TestContext.Current.CancellationToken), TestContext.Current.CancellationToken))
            .ToList();
        var events = await Task.WhenAll(appends);

        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), events.Select(e => e.Seq).Order());
        // Each caller is answered with its own event, not a neighbour's from the same batch.
        for (var i = 0; i < events.Length; i++)
        {
            Assert.Equal($"req-{i}", events[i].Record.RequestId);
        }

        var verification = await AuditVerifier.VerifyAsync(_store, TestContext.Current.CancellationToken);
        Assert.True(verification.IsIntact, verification.Problem);
        Assert.Equal(1000, verification.VerifiedCount);
        Assert.Equal(_store.Events[^1].Hash, verification.HeadHash);
        Assert.Equal(1000, _store.BatchSizes.Sum());
    }

    [Fact]
    public async Task A_failed_write_fails_the_action_and_marks_the_log_unhealthy_until_a_write_succeeds()
    {
        await using var log = await StartAsync();
        var before = await log.AppendAsync(Record("ok-1"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(log.IsHealthy);

        _store.FailNext = MemoryAuditStore.Failure.BeforeWrite;
        var ex = await Assert.ThrowsAsync<AuditWriteException>(() => log.AppendAsync(Record("lost"), cancellationToken: TestContext.Current.CancellationToken));

        Assert.IsType<IOException>(ex.InnerException);
        Assert.False(log.IsHealthy);
        Assert.Equal(1, log.LastSeq);

        var after = await log.AppendAsync(Record("ok-2"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(log.IsHealthy);
        Assert.Equal(2, after.Seq);
        Assert.Equal(before.Hash, after.PrevHash);
        Assert.True((await AuditVerifier.VerifyAsync(_store, TestContext.Current.CancellationToken)).IsIntact);
    }

    [Fact]
    public async Task An_unhealthy_log_tries_the_store_again_by_itself_and_is_healthy_once_it_commits_without_waiting_for_an_action()
    {
        // A node that is not ready gets no traffic from a load balancer that follows /readyz: if only an
        // action could make the log healthy again, the node would never be ready again.
        await using var log = await StartAsync();
        var before = await log.AppendAsync(Record("ok-1"), cancellationToken: TestContext.Current.CancellationToken);
        _store.FailNext = MemoryAuditStore.Failure.BeforeWrite;
        await Assert.ThrowsAsync<AuditWriteException>(() => log.AppendAsync(Record("lost"), cancellationToken: TestContext.Current.CancellationToken));
        Assert.False(log.IsHealthy);

        // The writer waits on the fake clock; the bound only fails a test in which nothing ever happens.
        var bound = System.Diagnostics.Stopwatch.StartNew();
        while (!log.IsHealthy)
        {
            Assert.True(bound.Elapsed < TimeSpan.FromSeconds(10), "the log did not try the store again");
            _time.Advance(AuditLog.RetryInterval);
            await Task.Yield();
        }

        Assert.Equal([before.Hash], _store.Events.Select(e => e.Hash)); // the retry recorded nothing
        var after = await log.AppendAsync(Record("ok-2"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2, after.Seq);
        Assert.Equal(before.Hash, after.PrevHash);
    }

    [Fact]
    public async Task After_a_failure_that_did_write_the_chain_continues_from_the_stores_real_head()
    {
        await using var log = await StartAsync();
        await log.AppendAsync(Record("ok-1"), cancellationToken: TestContext.Current.CancellationToken);

        _store.FailNext = MemoryAuditStore.Failure.AfterWrite;
        await Assert.ThrowsAsync<AuditWriteException>(() => log.AppendAsync(Record("written-but-unacknowledged"), cancellationToken: TestContext.Current.CancellationToken));
        Assert.False(log.IsHealthy);

        var after = await log.AppendAsync(Record("ok-2"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(log.IsHealthy);
        Assert.Equal(3, after.Seq);
        Assert.Equal(_store.Events[1].Hash, after.PrevHash);
        var verification = await AuditVerifier.VerifyAsync(_store, TestContext.Current.CancellationToken);
        Assert.True(verification.IsIntact, verification.Problem);
        Assert.Equal(3, verification.VerifiedCount);
    }

    [Fact]
    public async Task A_restarted_log_continues_the_stored_chain()
    {
        AuditEvent last;
        await using (var first = await StartAsync())
        {
            await first.AppendAsync(Record("a"), cancellationToken: TestContext.Current.CancellationToken);
            last = await first.AppendAsync(Record("b"), cancellationToken: TestContext.Current.CancellationToken);
        }

        await using var second = await StartAsync();
        Assert.Equal(2, second.LastSeq);
        var next = await second.AppendAsync(Record("c"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(3, next.Seq);
        Assert.Equal(last.Hash, next.PrevHash);
    }

    [Fact]
    public async Task Appending_after_shutdown_fails_closed()
    {
        var log = await StartAsync();
        await log.DisposeAsync();

        await Assert.ThrowsAsync<AuditWriteException>(() => log.AppendAsync(Record("late"), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Empty(_store.Events);
    }

    [Fact]
    public async Task An_append_with_a_deadline_completes_when_durable()
    {
        await using var log = await StartAsync();

        var recorded = await log.AppendWithinAsync(Record("r1"), TimeSpan.FromSeconds(5));

        Assert.Equal(recorded.Hash, Assert.Single(_store.Events).Hash);
    }

    [Fact]
    public async Task An_append_with_a_deadline_fails_when_the_commit_fails()
    {
        await using var log = await StartAsync();
        _store.FailNext = MemoryAuditStore.Failure.BeforeWrite;

        await Assert.ThrowsAsync<AuditWriteException>(() => log.AppendWithinAsync(Record("r1"), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task An_append_with_a_deadline_fails_when_the_commit_hangs_past_it_and_the_event_may_still_land_later()
    {
        await using var log = await StartAsync();
        _store.Hold();

        var append = log.AppendWithinAsync(Record("r1"), TimeSpan.FromSeconds(5));
        await _store.Holding;
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(append.IsCompleted);
        _time.Advance(AuditLog.RetryInterval);

        var failure = await Assert.ThrowsAsync<AuditWriteException>(() => append);
        Assert.Equal("the audit event was not durable within 5 s", failure.Message);
        Assert.Empty(_store.Events);
        _store.Release();
        await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["r1", "r2"], _store.Events.Select(e => e.Record.RequestId));
    }

    [Fact]
    public async Task A_follower_waiting_for_a_commit_is_woken_by_the_next_commit_and_not_before()
    {
        await using var log = await StartAsync();
        await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(log.WaitForCommitAfterAsync(0, TestContext.Current.CancellationToken).IsCompletedSuccessfully);
        var waiting = log.WaitForCommitAfterAsync(1, TestContext.Current.CancellationToken);
        var second = log.WaitForCommitAfterAsync(1, TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted);

        await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);
        await waiting.WaitAsync(TestContext.Current.CancellationToken);
        await second.WaitAsync(TestContext.Current.CancellationToken);
        Assert.False(log.WaitForCommitAfterAsync(2, TestContext.Current.CancellationToken).IsCompleted);
    }

    [Fact]
    public async Task A_checkpoint_follows_the_batch_that_reaches_every_events_and_signs_the_event_before_it()
    {
        var key = SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow());
        await using var log = await StartAsync(new AuditCheckpointOptions(true, 3, TimeSpan.FromMinutes(5)), key);

        for (var i = 1; i <= 6; i++)
        {
            await log.AppendAsync(Record($"r{i}"), cancellationToken: TestContext.Current.CancellationToken);
        }

        var events = _store.Events;
        Assert.Equal(["r1", "r2", "r3", null, "r4", "r5", "r6", null], events.Select(e => e.Record.RequestId));
        foreach (var (checkpoint, covered) in new[] { (events[3], events[2]), (events[7], events[6]) })
        {
            Assert.Equal(AuditTypes.AuditCheckpoint, checkpoint.Record.Type);
            var reading = AuditCheckpoint.Read(checkpoint.Record.Checkpoint!);
            Assert.Equal(new AuditCheckpoint(null, covered.Seq, covered.Hash, _time.GetUtcNow()), reading.Checkpoint);
            Assert.Equal(key.Kid, reading.Kid);
        }

        var verification = await AuditVerifier.VerifyAsync(_store, TestContext.Current.CancellationToken);
        Assert.True(verification.IsIntact, verification.Problem);
        Assert.Equal(2, verification.Checkpoints);
    }

    [Fact]
    public async Task A_tick_checkpoints_the_events_that_came_and_quiet_ticks_checkpoint_nothing()
    {
        var every = TimeSpan.FromMinutes(5);
        await using var log = await StartAsync(new AuditCheckpointOptions(true, 1000, every), SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow()));
        var first = await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);
        var committed = NextCheckpoint();

        _time.Advance(every);
        var checkpoint = await committed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(2, checkpoint.Seq);
        Assert.Equal(new AuditCheckpoint(null, 1, first.Hash, _time.GetUtcNow()), AuditCheckpoint.Read(checkpoint.Record.Checkpoint!).Checkpoint);

        // Three ticks with no event since the checkpoint: the next event directly follows it.
        _time.Advance(every);
        _time.Advance(every);
        _time.Advance(every);
        var next = await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(3, next.Seq);
    }

    [Fact]
    public async Task A_checkpoint_cut_by_count_puts_the_next_timed_one_a_whole_period_after_it()
    {
        var every = TimeSpan.FromMinutes(5);
        await using var log = await StartAsync(new AuditCheckpointOptions(true, 2, every), SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromMinutes(4));
        await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);
        await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(3, _store.Events.Count); // r1, r2 and their checkpoint

        // The timer started with the log would fire now; it was moved to 5 minutes after the checkpoint.
        _time.Advance(TimeSpan.FromMinutes(1));
        await log.AppendAsync(Record("r3"), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(4, _store.Events.Count);

        var committed = NextCheckpoint();
        _time.Advance(TimeSpan.FromMinutes(4));
        var checkpoint = await committed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(5, checkpoint.Seq);
    }

    [Fact]
    public async Task A_log_restarted_on_a_head_that_no_checkpoint_covers_checkpoints_it_at_the_first_tick()
    {
        var every = TimeSpan.FromMinutes(5);
        await using (var plain = await StartAsync())
        {
            await plain.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);
        }

        await using var log = await StartAsync(new AuditCheckpointOptions(true, 1000, every), SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow()));
        var committed = NextCheckpoint();
        _time.Advance(every);

        Assert.Equal(2, (await committed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Seq);
    }

    [Fact]
    public async Task A_checkpoint_fails_with_its_batch_and_the_events_it_would_have_covered_stay_counted()
    {
        await using var log = await StartAsync(new AuditCheckpointOptions(true, 2, TimeSpan.FromMinutes(5)), SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow()));
        await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);

        _store.FailNext = MemoryAuditStore.Failure.BeforeWrite;
        await Assert.ThrowsAsync<AuditWriteException>(() => log.AppendAsync(Record("lost"), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Single(_store.Events);

        var r2 = await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);

        // r1 and r2 are the two events since the last checkpoint: it follows r2 and signs it.
        var checkpoint = _store.Events[^1];
        Assert.Equal(["r1", "r2", null], _store.Events.Select(e => e.Record.RequestId));
        Assert.Equal(new AuditCheckpoint(null, r2.Seq, r2.Hash, _time.GetUtcNow()), AuditCheckpoint.Read(checkpoint.Record.Checkpoint!).Checkpoint);
    }

    [Fact]
    public async Task A_disabled_checkpointer_cuts_nothing()
    {
        await using var log = await StartAsync(new AuditCheckpointOptions(false, 1, TimeSpan.FromMinutes(5)), SigningKey.Generate(_time.GetUtcNow(), _time.GetUtcNow()));

        await log.AppendAsync(Record("r1"), cancellationToken: TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMinutes(5));
        var next = await log.AppendAsync(Record("r2"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(2, next.Seq);
        Assert.DoesNotContain(_store.Events, e => e.Record.Type == AuditTypes.AuditCheckpoint);
    }

    /// <summary>Completes with the next checkpoint event the store commits.</summary>
    private Task<AuditEvent> NextCheckpoint()
    {
        var seen = new TaskCompletionSource<AuditEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.Committed = _ =>
        {
            if (_store.Events[^1] is { Record.Type: AuditTypes.AuditCheckpoint } e)
            {
                seen.TrySetResult(e);
            }

            return Task.CompletedTask;
        };
        return seen.Task;
    }

    private async Task<AuditLog> StartAsync(AuditCheckpointOptions options, SigningKey key)
    {
        var checkpointer = new AuditCheckpointer(options);
        checkpointer.SignWith(_ => key);
        var log = new AuditLog(_store, _time, NullLogger<AuditLog>.Instance, checkpointer);
        await log.StartAsync(TestContext.Current.CancellationToken);
        return log;
    }

    private async Task<AuditLog> StartAsync()
    {
        var log = new AuditLog(_store, _time, NullLogger<AuditLog>.Instance);
        await log.StartAsync(TestContext.Current.CancellationToken);
        return log;
    }

    private static AuditRecord Record(string requestId) => new()
    {
        Type = AuditTypes.TokenIssued,
        Outcome = AuditOutcomes.Allowed,
        Agent = "support-agent",
        Scopes = ["crm:read"],
        RequestId = requestId,
    };
}
