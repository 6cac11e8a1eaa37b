using Tessera.Core.Tests.Revocation;
using Tessera.Core.Tests.Vault;

namespace Tessera.Core.Tests.Configuration;

public sealed class ConfigReloaderTests : IAsyncDisposable
{
    private readonly CoreHarness _core = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-reload-" + Guid.NewGuid().ToString("N"));
    private readonly RevocationIndex _revocations = new();
    private readonly List<IDisposable> _owned = [];
    private LiveConfig _live = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string FilePath => Path.Combine(_directory, "tessera.yaml");

    private async Task<ConfigReloader> StartAsync(string yaml)
    {
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(FilePath, yaml, Ct);
        var config = ConfigLoader.LoadFile(FilePath, _core.Time);
        await _core.StartAsync(config, initializeKeys: false, Ct);
        _live = LiveConfig.Of(config, _core.Time);
        var vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, _live, _core.Time);
        await vault.LoadAsync(Ct);
        _owned.Add(vault);
        var revocations = new RevocationService(_revocations, new NoRevocations(), _core.AuditStore, new NoMissions(), _core.Log, config, _core.Time);
        var http = new HttpClient();
        _owned.Add(http);
        var reloader = new ConfigReloader(_live, _core.Log, revocations, vault, _core.Time, http, NullLogger<ConfigReloader>.Instance);
        _owned.Add(reloader);
        return reloader;
    }

    private IReadOnlyList<AuditEvent> Events(string type) => [.. _core.AuditStore.Events.Where(e => e.Record.Type == type)];

    private string FileHash() => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(FilePath)));

    [Fact]
    public async Task A_valid_file_is_swapped_in_and_recorded_with_its_hash_who_asked_and_what_changed()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml());
        var before = _live.Latest;
        await File.WriteAllTextAsync(FilePath, ConfigFixture.Yaml(ConfigFixture.Billing), Ct);

        var outcome = await reloader.ReloadAsync("corp:carol", "req-1", Ct);

        Assert.True(outcome.Reloaded);
        Assert.Equal(FileHash(), outcome.Hash);
        Assert.Equal(before.Hash, outcome.PreviousHash);
        Assert.NotEqual(before.Hash, outcome.Hash);
        Assert.Equal(["agent added: billing-bot"], outcome.Changes);
        Assert.NotNull(_live.Latest.Agents.Find("billing-bot"));
        Assert.Equal(outcome.Hash, _live.Latest.Hash);
        var reloaded = Assert.Single(Events(AuditTypes.ConfigReloaded)).Record;
        Assert.Equal((AuditOutcomes.Allowed, "corp:carol", outcome.Hash, "req-1"), (reloaded.Outcome, reloaded.Principal, reloaded.ConfigHash, reloaded.RequestId));
        Assert.Equal(["agent added: billing-bot"], reloaded.Changes);
    }

    [Fact]
    public async Task An_invalid_file_is_refused_with_its_line_and_key_and_the_running_configuration_keeps_serving()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml(ConfigFixture.Billing));
        var running = _live.Latest;
        await File.WriteAllTextAsync(FilePath, ConfigFixture.Yaml(ConfigFixture.Billing).Replace("owner: finance@corp.example", "owner: \"\"", StringComparison.Ordinal), Ct);

        var outcome = await reloader.ReloadAsync("corp:carol", null, Ct);

        Assert.False(outcome.Reloaded);
        Assert.Equal(RefusalCodes.ConfigInvalid, outcome.Code);
        Assert.Matches(@"^tessera\.yaml:\d+: agents\[2\]\.owner: ", outcome.Problem);
        Assert.Same(running, _live.Latest);
        Assert.Equal(running.Hash, outcome.Hash);
        var refused = Assert.Single(Events(AuditTypes.ConfigRefused)).Record;
        Assert.Equal((AuditOutcomes.Denied, RefusalCodes.ConfigInvalid, "corp:carol", outcome.Problem), (refused.Outcome, refused.ReasonCode, refused.Principal, refused.Reason));
        Assert.Empty(Events(AuditTypes.ConfigReloaded));
    }

    [Fact]
    public async Task A_file_that_is_not_yaml_or_is_gone_is_refused_and_nothing_changes()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml());
        var running = _live.Latest;
        await File.WriteAllTextAsync(FilePath, "agents: [ {\n", Ct);
        var garbled = await reloader.ReloadAsync("SIGHUP", null, Ct);
        File.Delete(FilePath);
        var gone = await reloader.ReloadAsync("SIGHUP", null, Ct);

        Assert.Equal((RefusalCodes.ConfigInvalid, RefusalCodes.ConfigInvalid), (garbled.Code, gone.Code));
        Assert.Contains("not valid YAML", garbled.Problem, StringComparison.Ordinal);
        Assert.Contains("file not found", gone.Problem, StringComparison.Ordinal);
        Assert.Same(running, _live.Latest);
        Assert.Equal(2, Events(AuditTypes.ConfigRefused).Count);
    }

    [Fact]
    public async Task A_file_changing_a_setting_that_takes_a_restart_is_refused_whole()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml());
        var running = _live.Latest;
        await File.WriteAllTextAsync(FilePath, ConfigFixture.Yaml(ConfigFixture.Billing, server: "listen: http://127.0.0.1:9090"), Ct);

        var outcome = await reloader.ReloadAsync("corp:carol", null, Ct);

        Assert.Equal(RefusalCodes.ConfigRestartRequired, outcome.Code);
        Assert.StartsWith("server changed: ", outcome.Problem, StringComparison.Ordinal);
        // Nothing of the file is applied, not even the agent it also adds.
        Assert.Same(running, _live.Latest);
        Assert.Null(_live.Latest.Agents.Find("billing-bot"));
        Assert.Equal(FileHash(), Assert.Single(Events(AuditTypes.ConfigRefused)).Record.ConfigHash);
    }

    [Fact]
    public async Task A_removed_agent_is_revoked_durably_before_the_new_configuration_serves()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml(ConfigFixture.Billing));
        await File.WriteAllTextAsync(FilePath, ConfigFixture.Yaml(), Ct);
        var issuedBefore = _core.Time.GetUtcNow().ToUnixTimeSeconds() - 1;

        var outcome = await reloader.ReloadAsync("corp:carol", null, Ct);

        Assert.Equal(["agent removed: billing-bot"], outcome.Changes);
        // Even if an agent of that id is registered again later, what it was issued before stays dead.
        Assert.True(_revocations.IsRevoked("jti-1", [], null, ["billing-bot"], issuedBefore));
        var types = _core.AuditStore.Events.Select(e => e.Record.Type).ToList();
        Assert.True(types.IndexOf(AuditTypes.TokenRevoked) < types.IndexOf(AuditTypes.ConfigReloaded));
        Assert.Equal("billing-bot", Assert.Single(Events(AuditTypes.TokenRevoked)).Record.Agent);
    }

    [Fact]
    public async Task When_the_reload_cannot_be_recorded_the_old_configuration_keeps_running()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml());
        var running = _live.Latest;
        await File.WriteAllTextAsync(FilePath, ConfigFixture.Yaml(ConfigFixture.Billing), Ct);
        _core.AuditStore.FailNext = MemoryAuditStore.Failure.BeforeWrite;

        await Assert.ThrowsAsync<AuditWriteException>(() => reloader.ReloadAsync("corp:carol", null, Ct));

        Assert.Same(running, _live.Latest);
        Assert.Null(_live.Latest.Agents.Find("billing-bot"));
    }

    [Fact]
    public async Task Reloading_the_same_file_is_recorded_as_unchanged()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml());

        var outcome = await reloader.ReloadAsync("SIGHUP", null, Ct);

        Assert.True(outcome.Reloaded);
        Assert.Equal(outcome.PreviousHash, outcome.Hash);
        Assert.Empty(outcome.Changes);
        Assert.Contains("unchanged", Assert.Single(Events(AuditTypes.ConfigReloaded)).Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_built_in_code_has_no_file_to_reload()
    {
        await _core.StartAsync(ConfigFixture.Load(ConfigFixture.Yaml()), initializeKeys: false, Ct);
        var live = LiveConfig.Of(ConfigFixture.Load(ConfigFixture.Yaml()), _core.Time);
        using var vault = new SecretVault(new MemorySecretStore(_core.AuditStore), _core.MasterKey, _core.Log, live, _core.Time);
        using var http = new HttpClient();
        using var reloader = new ConfigReloader(live, _core.Log,
            new RevocationService(_revocations, new NoRevocations(), _core.AuditStore, new NoMissions(), _core.Log, live.Config, _core.Time),
            vault, _core.Time, http, NullLogger<ConfigReloader>.Instance);

        var outcome = await reloader.ReloadAsync("corp:carol", null, Ct);

        Assert.Equal(RefusalCodes.ConfigNoFile, outcome.Code);
    }

    [Fact]
    public async Task Reloads_asked_at_once_run_one_after_the_other_and_each_is_recorded()
    {
        var reloader = await StartAsync(ConfigFixture.Yaml());
        await File.WriteAllTextAsync(FilePath, ConfigFixture.Yaml(ConfigFixture.Billing), Ct);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => reloader.ReloadAsync("corp:carol", null, Ct)));

        // The first one applies the change; the others find the same file running.
        Assert.Single(outcomes, o => o.Changes.Count > 0);
        Assert.All(outcomes, o => Assert.Equal(FileHash(), o.Hash));
        Assert.Equal(4, Events(AuditTypes.ConfigReloaded).Count);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        await _core.DisposeAsync();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
