using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// Keeps every log line a broker writes, at every level and from every category, with its
/// structured values and any exception, so tests can search all of it for what must never appear.
/// </summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public string All => string.Join("\n", _lines);

    /// <summary>Adds this provider to a broker at Trace level, overriding the host's category filters for it.</summary>
    public void AddTo(WebApplicationBuilder builder)
    {
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        builder.Logging.AddFilter<CapturingLoggerProvider>(null, LogLevel.Trace);
        builder.Logging.AddProvider(this);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"scope {category}: {Describe(state)}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}[{eventId.Id}]: {formatter(state, exception)} | {Describe(state)}{(exception is null ? "" : " | " + exception)}");

        private static string Describe(object? state) => state is IEnumerable<KeyValuePair<string, object?>> values
            ? string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"))
            : state?.ToString() ?? "";
    }
}
