using Microsoft.Extensions.Logging;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;

namespace Tessera.Core.Audit.Sinks;

/// <summary>The configured audit sinks (<c>audit.sinks</c>); none by default.</summary>
public sealed class AuditSinks(IReadOnlyList<AuditSink> all) : IDisposable
{
    public IReadOnlyList<AuditSink> All => all;

    public IReadOnlyList<AuditSinkStatus> Status() => [.. all.Select(s => s.Status())];

    /// <summary>
    /// Builds the sinks of <paramref name="config"/>, each with its cursor in <c>data_dir/audit-sinks</c>;
    /// <paramref name="stdout"/> is the stream a stdout sink writes to.
    /// </summary>
    public static AuditSinks Create(TesseraConfig config, IAuditStore store, AuditLog log, TimeProvider time, ILoggerFactory loggers, Func<Stream> stdout)
    {
        var sinks = new List<AuditSink>();
        foreach (var options in config.AuditSinks)
        {
            AuditSinkOutput output = options.Kind == AuditSinkKind.File
                ? new AuditSinkFile(options.Path!, options.MaxSize, options.Keep)
                : new AuditSinkStream(stdout());
            var cursor = new AuditSinkCursor(Path.Combine(config.DataDir, "audit-sinks", options.Name + ".cursor"));
            sinks.Add(new AuditSink(options.Name, output, cursor, store, log, time, loggers.CreateLogger<AuditSink>()));
        }

        return new AuditSinks(sinks);
    }

    public void Dispose()
    {
        foreach (var sink in all)
        {
            sink.Dispose();
        }
    }
}
