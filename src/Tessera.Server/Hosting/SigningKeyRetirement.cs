using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tessera.Core.Tokens;

namespace Tessera.Server.Hosting;

/// <summary>
/// Retires signing keys on a timer, driven by the injected <see cref="TimeProvider"/>: once a minute
/// every key that has left JWKS is deleted with its audit event. Without it a superseded key would
/// stay in storage and memory until the next rotation or restart. Verification does not depend on
/// this pass (it accepts only keys published at that moment); the pass removes the private key.
/// Registered after <see cref="StartupService"/>, which loads the keys first.
/// </summary>
internal sealed partial class SigningKeyRetirement(SigningKeyService keys, TimeProvider time, ILogger<SigningKeyRetirement> logger) : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    foreach (var kid in await keys.RetireAsync(stoppingToken))
                    {
                        Log.Retired(logger, kid);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The key stays stored until the next pass; it already verifies nothing.
                    Log.RetireFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Signing key {Kid} retired: it left JWKS and was deleted")]
        public static partial void Retired(ILogger logger, string kid);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Retiring signing keys failed; retrying at the next pass")]
        public static partial void RetireFailed(ILogger logger, Exception exception);
    }
}
