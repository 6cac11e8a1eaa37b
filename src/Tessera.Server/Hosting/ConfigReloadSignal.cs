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

        [LoggerMessage(EventId = 44, Level = LogLevel.Error, Message = "Configuration reload on SIGHUP failed; the running configuration is unchanged")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
