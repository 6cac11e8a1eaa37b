using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// The fake clock of a test broker. Two things set it apart from <see cref="FakeTimeProvider"/>:
/// <list type="bullet">
/// <item>A periodic timer fires at most once per move of the clock, as a real timer does after the
/// process was paused: moving a broker's clock sixteen days ahead runs its once-a-minute prune
/// once, not 23,040 times at once.</item>
/// <item>It knows which one-shot timers the code under test has armed, so a test can move the
/// clock exactly to a background wait (a retry's backoff) once it is armed, instead of advancing
/// blindly in a loop that sleeps in real time until the background work catches up.</item>
/// </list>
/// </summary>
public sealed class TestClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _lock = new();
    private readonly List<Armed> _armed = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var periodic = period > TimeSpan.Zero && period != Timeout.InfiniteTimeSpan;
        if (periodic)
        {
            // Every firing a single move catches up on sees the same "now": the first one runs, the rest are dropped.
            var lastFired = new StrongBox<long>(long.MinValue);
            var inner = callback;
            callback = s =>
            {
                var now = GetUtcNow().UtcTicks;
                if (Interlocked.Exchange(ref lastFired.Value, now) != now)
                {
                    inner(s);
                }
            };
        }

        var armed = new Armed(dueTime, GetUtcNow() + dueTime);
        armed.Timer = base.CreateTimer(s =>
        {
            if (!periodic)
            {
                armed.Done = true;
            }

            callback(s);
        }, state, dueTime, period);
        if (!periodic && dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_lock)
            {
                if (_armed.Count >= 256)
                {
                    // Most one-shot timers (request deadlines) end unobserved; keep the list short.
                    _armed.RemoveAll(a => a.Done);
                }

                _armed.Add(armed);
                _changed.TrySetResult();
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        return armed;
    }

    /// <summary>
    /// Until <paramref name="until"/> completes, moves the clock to each armed, still pending timer
    /// whose due time <paramref name="matches"/>, one at a time and in the order they were armed.
    /// <paramref name="patience"/> is real time, only to fail a hung test.
    /// </summary>
    public async Task<T> StepUntilAsync<T>(Task<T> until, Func<TimeSpan, bool> matches, TimeSpan patience)
    {
        using var hung = new CancellationTokenSource(patience);
        while (!until.IsCompleted)
        {
            Armed? next;
            Task changed;
            lock (_lock)
            {
                _armed.RemoveAll(a => a.Done);
                next = _armed.Find(a => matches(a.DueTime));
                if (next is not null)
                {
                    _armed.Remove(next);
                }

                changed = _changed.Task;
            }

            if (next is not null)
            {
                var wait = next.DueAt - GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    Advance(wait);
                }

                continue;
            }

            try
            {
                await Task.WhenAny(until, changed).WaitAsync(hung.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"nothing happened within {patience.TotalSeconds:0} s (real time) and no matching timer was armed");
            }
        }

        return await until;
    }

    /// <summary>A timer as armed; a one-shot one is done once it fired or was disposed (as a cancelled Task.Delay disposes it).</summary>
    private sealed class Armed(TimeSpan dueTime, DateTimeOffset dueAt) : ITimer
    {
        public TimeSpan DueTime { get; } = dueTime;

        public DateTimeOffset DueAt { get; } = dueAt;

        private volatile bool _done;

        public ITimer Timer { get; set; } = null!;

        public bool Done { get => _done; set => _done = value; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            // Re-armed by its owner: no longer the wait it was announced as.
            Done = true;
            return Timer.Change(dueTime, period);
        }

        public void Dispose()
        {
            Done = true;
            Timer.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Done = true;
            return Timer.DisposeAsync();
        }
    }
}
