using Tessera.Core.Tests.Tokens;

namespace Tessera.Core.Tests;

/// <summary>
/// What every Core service under test stands on: a fake clock, the in-memory audit store, a master
/// key, and, once started, a running audit log and signing keys.
/// </summary>
internal sealed class CoreHarness : IAsyncDisposable
{
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));

    public MemoryAuditStore AuditStore { get; } = new();

    public MasterKey MasterKey { get; } = new(RandomNumberGenerator.GetBytes(32));

    public AuditLog Log { get; private set; } = null!;

    public SigningKeyService Keys { get; private set; } = null!;

    /// <summary>Starts the audit log and the signing keys (with a first key when <paramref name="initializeKeys"/>).</summary>
    public async Task StartAsync(TesseraConfig config, bool initializeKeys, CancellationToken cancellationToken)
    {
        Log = new AuditLog(AuditStore, Time, NullLogger<AuditLog>.Instance);
        await Log.StartAsync(cancellationToken);
        Keys = new SigningKeyService(new MemorySigningKeyStore(), MasterKey, Log, config, Time);
        if (initializeKeys)
        {
            await Keys.InitializeAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Keys?.Dispose();
        if (Log is not null)
        {
            await Log.DisposeAsync();
        }
    }
}
