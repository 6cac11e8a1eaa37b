namespace Tessera.Core.Configuration;

/// <summary>
/// The running configuration (docs/operations.md, "Reloading the configuration"). Services that
/// depend on what a reload may change (agents, tools, principals, admins, approver groups, identity
/// providers) read it here on every use, never keep a copy. A request takes one snapshot when it
/// starts (<see cref="Pin"/>) and sees only that one to its end, however many services it goes
/// through and whatever reload happens meanwhile; background work sees the latest.
/// </summary>
public sealed class LiveConfig
{
    private readonly AsyncLocal<ConfigSnapshot?> _pinned = new();
    private ConfigSnapshot _latest;

    public LiveConfig(ConfigSnapshot initial) => _latest = initial;

    /// <summary>A configuration that never changes (tools, tests and benchmarks that build services directly).</summary>
    public static LiveConfig Of(TesseraConfig config, TimeProvider time, HttpClient? http = null) => new(ConfigSnapshot.Build(config, time, http));

    /// <summary>
    /// Agents and identity providers already built, with nothing else configured (tests and fuzz
    /// targets of the client assertion validators, which need only those).
    /// </summary>
    internal static LiveConfig Of(Identity.AgentRegistry agents, Identity.IdentityProviderRegistry providers, TimeProvider time)
    {
        var config = new TesseraConfig
        {
            Server = new ServerOptions(new Uri("http://127.0.0.1:8080"), "http://127.0.0.1:8080", BootstrapAdminToken: false),
            Storage = "sqlite::memory:",
            DataDir = Path.GetTempPath(),
            Tokens = new TokenOptions(TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), 3),
            SigningKeys = new SigningKeyOptions(TimeSpan.Zero),
        };
        return new(new ConfigSnapshot(config, agents, new Tools.ToolCatalog([]), providers, time.GetUtcNow()));
    }

    /// <summary>The snapshot the current request pinned, or the latest outside a request.</summary>
    public ConfigSnapshot Current => _pinned.Value ?? Volatile.Read(ref _latest);

    /// <summary>The snapshot the next request will take.</summary>
    public ConfigSnapshot Latest => Volatile.Read(ref _latest);

    /// <summary>Shorthand for <c>Current.Config</c>.</summary>
    public TesseraConfig Config => Current.Config;

    /// <summary>
    /// Pins the latest snapshot for the rest of the calling asynchronous flow: everything the caller
    /// awaits from here sees it, and the caller's own caller is unaffected (an <see cref="AsyncLocal{T}"/>
    /// set inside an async method is undone when it returns).
    /// </summary>
    public void Pin() => _pinned.Value = Volatile.Read(ref _latest);

    /// <summary>Makes <paramref name="next"/> the snapshot every new request takes; requests already running keep theirs.</summary>
    internal void Swap(ConfigSnapshot next) => Volatile.Write(ref _latest, next);
}
