using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Configuration;

namespace Tessera.Server.Hosting;

/// <summary>
/// SIGHUP reloads the configuration (docs/operations.md, "Reloading the configuration"), as
/// daemons conventionally do; the signal no longer ends the process. The outcome is in the log and
/// in the audit log (<c>config.reloaded</c> or <c>config.refused</c>, asked by <c>SIGHUP</c>).
/// </summary>
internal sealed partial class ConfigReloadSignal(ConfigReloader reloader, Readiness readiness, ILogger<ConfigReloadSignal> logger) : IHostedService, IDisposable
{
    public const string RequestedBy = "SIGHUP";

    private PosixSignalRegistration? _registration;
    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // A process started with SIGHUP ignored (nohup does exactly that) keeps ignoring it: the runtime
        // honours the inherited disposition. Say so at start rather than let a SIGHUP do nothing silently.
        if (OperatingSystem.IsLinux() && ReadStatus() is { } status && IsIgnored(status, signal: 1))
        {
            Log.HangupIgnored(logger);
        }

        if (!OperatingSystem.IsWindows())
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                _ = ReloadAsync();
            });
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Whether <paramref name="signal"/> is in the <c>SigIgn</c> mask of a <c>/proc/PID/status</c> text
    /// (hexadecimal, bit <c>signal − 1</c>); false when the line is missing or unreadable.
    /// </summary>
    internal static bool IsIgnored(string status, int signal)
    {
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
            {
                return ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var mask)
                    && (mask & (1UL << (signal - 1))) != 0;
            }
        }

        return false;
    }

    private static string? ReadStatus()
    {
        try
        {
            return File.ReadAllText("/proc/self/status");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private async Task ReloadAsync()
    {
        if (!readiness.IsReady)
        {
            Log.NotReady(logger);
            return;
        }

        try
        {
            await reloader.ReloadAsync(RequestedBy, null, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the reload was never started.
        }
        catch (Exception ex)
        {
            // An audit log that cannot commit: nothing was swapped (ConfigReloader records first).
            Log.Failed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration?.Dispose();
        _registration = null;
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _registration?.Dispose();
        _stopping.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 43, Level = LogLevel.Warning, Message = "SIGHUP ignored: the node is still starting; send it again once /readyz is 200")]
        public static partial void NotReady(ILogger logger);

        [LoggerMessage(EventId = 46, Level = LogLevel.Warning,
            Message = "SIGHUP is ignored by this process (it was started with SIGHUP ignored, as nohup does), so it will not reload the configuration; use 'tessera reload' (POST /admin/v1/config/reload), or start the process without nohup")]
        public static partial void HangupIgnored(ILogger logger);

        [LoggerMessage(EventId = 44, Level = LogLevel.Error, Message = "Configuration reload on SIGHUP failed; the running configuration is unchanged")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
