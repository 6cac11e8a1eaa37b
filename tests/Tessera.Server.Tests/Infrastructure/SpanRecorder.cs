using System.Diagnostics;
using OpenTelemetry;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A span processor added beside the OTLP exporter: keeps every span as it ends, so a test waits for
/// the spans of its own trace (the listener is process-wide: other tests' spans pass through too)
/// instead of sleeping.
/// </summary>
public sealed class SpanRecorder : BaseProcessor<Activity>
{
    private readonly Lock _lock = new();
    private readonly List<Activity> _ended = [];
    private readonly List<(ActivityTraceId Trace, Func<IReadOnlyList<Activity>, bool> Done, TaskCompletionSource<IReadOnlyList<Activity>> Signal)> _waiting = [];

    public override void OnEnd(Activity data)
    {
        lock (_lock)
        {
            _ended.Add(data);
            _waiting.RemoveAll(w => TryComplete(w.Trace, w.Done, w.Signal));
        }
    }

    /// <summary>Completes with the ended spans of <paramref name="trace"/> once <paramref name="done"/> holds for them.</summary>
    public Task<IReadOnlyList<Activity>> WaitForAsync(ActivityTraceId trace, Func<IReadOnlyList<Activity>, bool> done)
    {
        var signal = new TaskCompletionSource<IReadOnlyList<Activity>>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (!TryComplete(trace, done, signal))
            {
                _waiting.Add((trace, done, signal));
            }
        }

        return WithinBoundAsync(trace, signal.Task);
    }

    /// <summary>The bound only fails a hung test, saying which spans of the trace did end.</summary>
    private async Task<IReadOnlyList<Activity>> WithinBoundAsync(ActivityTraceId trace, Task<IReadOnlyList<Activity>> spans)
    {
        try
        {
            return await spans.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            lock (_lock)
            {
                var seen = _ended.Where(a => a.TraceId == trace).Select(a => $"{a.Source.Name}:{a.OperationName} ({a.Kind})");
                throw new TimeoutException($"the trace's spans never sufficed; ended: [{string.Join(", ", seen)}] of {_ended.Count} in all");
            }
        }
    }

    private bool TryComplete(ActivityTraceId trace, Func<IReadOnlyList<Activity>, bool> done, TaskCompletionSource<IReadOnlyList<Activity>> signal)
    {
        var spans = _ended.Where(a => a.TraceId == trace).ToList();
        return done(spans) && signal.TrySetResult(spans);
    }
}
