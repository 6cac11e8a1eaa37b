namespace Tessera.Core.Tests.Tokens;

/// <summary>
/// The signing keys of one node of a cluster: the change-log entry of its own commit can be applied
/// (a reload from the store) before the service that committed has updated its ring.
/// </summary>
public sealed class SigningKeyServiceTests : IAsyncDisposable
{
    private readonly CoreHarness _core = new();
    private readonly TesseraConfig _config = ConfigLoader.Load("tools: []\n", "tessera.yaml", Path.GetTempPath());
    private SigningKeyService _keys = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A service on a store that every signing-key commit is reloaded from before the commit returns.</summary>
    private async Task StartReloadingOnEveryKeyCommitAsync()
    {
        await _core.StartAsync(_config, initializeKeys: false, Ct);
        _keys = new SigningKeyService(new CommittedSigningKeyStore(_core.AuditStore), _core.MasterKey, _core.Log, _config, _core.Time);
        _core.AuditStore.Committed = async changes =>
        {
            if (changes.Any(c => c is SigningKeyAdded or SigningKeyRetired))
            {
                await _keys.ReloadAsync(Ct);
            }
        };
    }

    private async Task<string[]> StoredKidsAsync() =>
        [.. (await new CommittedSigningKeyStore(_core.AuditStore).LoadAsync(Ct)).Select(k => k.Kid)];

    [Fact]
    public async Task A_key_reloaded_from_the_store_before_its_add_returns_is_in_the_ring_once()
    {
        await StartReloadingOnEveryKeyCommitAsync();

        await _keys.InitializeAsync(Ct);
        var rotated = await _keys.RotateAsync("admin", null, Ct);

        Assert.Equal(await StoredKidsAsync(), _keys.Ring.Keys.Select(k => k.Kid));
        Assert.Same(rotated, _keys.Ring.Find(rotated.Kid));
    }

    [Fact]
    public async Task A_key_retired_while_a_reload_runs_leaves_the_ring_as_it_leaves_the_store()
    {
        await StartReloadingOnEveryKeyCommitAsync();
        await _keys.InitializeAsync(Ct);
        var first = _keys.Current();
        var second = await _keys.RotateAsync("admin", null, Ct);
        _core.Time.Advance(_config.SigningKeys.PublishAhead + _keys.Retention + TimeSpan.FromSeconds(1));

        Assert.Equal([first.Kid], await _keys.RetireAsync(Ct));

        Assert.Equal([second.Kid], await StoredKidsAsync());
        Assert.Equal([second.Kid], _keys.Ring.Keys.Select(k => k.Kid));
    }

    public async ValueTask DisposeAsync()
    {
        _keys?.Dispose();
        await _core.DisposeAsync();
    }
}
