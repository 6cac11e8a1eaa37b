using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Tessera.Client.AspNetCore;

/// <summary>
/// Tessera's RFC 8414 metadata and the keys of its <c>jwks_uri</c>, as JwtBearer's configuration. Written
/// here rather than the stock <see cref="ConfigurationManager{T}"/> because that one (IdentityModel 8)
/// refreshes in the background when asked: the request that first shows a rotated-in key is refused, and
/// the next ones until the fetch lands, while Tessera signs with a new key only
/// <c>signing_keys.publish_ahead</c> (1 minute) after publishing it. Here a refresh asked for is fetched
/// before the answer, at most once per <see cref="RefreshInterval"/>; times come from the host's
/// <see cref="TimeProvider"/>. The metadata must name the configured issuer (RFC 8414 §3.3). When a fetch
/// fails, the keys already held are kept (stale keys beat none); with none held, it throws
/// <see cref="InvalidOperationException"/>, which the handler answers 503.
/// </summary>
internal sealed partial class TesseraMetadata(string issuer, string address, bool requireHttps, Func<HttpClient> backchannel, TimeProvider time, ILogger logger)
    : IConfigurationManager<OpenIdConnectConfiguration>, IDisposable
{
    /// <summary>Keys are fetched again this often, so a key Tessera withdrew stops verifying within it.</summary>
    internal static readonly TimeSpan AutomaticRefreshInterval = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The least time between two fetches asked for by a token of an unknown key (or after a failure):
    /// shorter than Tessera's default <c>publish_ahead</c>, and long enough that made-up key ids cannot
    /// make the tool hammer Tessera.
    /// </summary>
    internal static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _fetching = new(1, 1);
    private OpenIdConnectConfiguration? _current;
    private long _nextFetch = long.MinValue;
    private long _lastAttempt = long.MinValue;

    public string MetadataAddress => address;

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && time.GetUtcNow().UtcTicks < Interlocked.Read(ref _nextFetch))
        {
            return current;
        }

        await _fetching.WaitAsync(cancel);
        try
        {
            var now = time.GetUtcNow().UtcTicks;
            current = _current;
            if (current is not null && now < Interlocked.Read(ref _nextFetch))
            {
                return current;
            }

            if (current is null && now < Interlocked.Read(ref _nextFetch))
            {
                throw new InvalidOperationException($"Tessera's metadata could not be fetched from {address}; retrying shortly.");
            }

            Interlocked.Exchange(ref _lastAttempt, now);
            try
            {
                // The stock retriever reads the metadata, then its jwks_uri (HTTPS-only unless turned off).
                var fetched = await OpenIdConnectConfigurationRetriever.GetAsync(address, new HttpDocumentRetriever(backchannel()) { RequireHttps = requireHttps }, cancel);
                if (!string.Equals(fetched.Issuer, issuer, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"The metadata at {address} names another issuer than {issuer}.");
                }

                Volatile.Write(ref _current, fetched);
                Interlocked.Exchange(ref _nextFetch, now + AutomaticRefreshInterval.Ticks);
                return fetched;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                Interlocked.Exchange(ref _nextFetch, now + RefreshInterval.Ticks);
                Log.FetchFailed(logger, address, ex.GetType().Name, ex.Message, current is not null);
                return current ?? throw new InvalidOperationException($"Tessera's metadata could not be fetched from {address}.", ex);
            }
        }
        finally
        {
            _fetching.Release();
        }
    }

    /// <summary>The next <see cref="GetConfigurationAsync"/> fetches again, unless the last fetch was less than <see cref="RefreshInterval"/> ago.</summary>
    public void RequestRefresh()
    {
        var now = time.GetUtcNow().UtcTicks;
        if (now >= Interlocked.Read(ref _lastAttempt) + RefreshInterval.Ticks)
        {
            Interlocked.Exchange(ref _nextFetch, now);
        }
    }

    public void Dispose() => _fetching.Dispose();

    private static partial class Log
    {
        [LoggerMessage(3, LogLevel.Warning, "Tessera's metadata could not be fetched from {Address} ({Error}: {Message}); keeping the keys held: {Kept}")]
        public static partial void FetchFailed(ILogger logger, string address, string error, string message, bool kept);
    }
}
