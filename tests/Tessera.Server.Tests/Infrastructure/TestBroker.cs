using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Vault;
using Tessera.Server.Hosting;
using Tessera.Storage.Sqlite;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A whole broker in memory (ASP.NET TestServer) over a real SQLite file in a temp directory,
/// with a controllable clock. Agents and tools come from YAML, as in production.
/// </summary>
public sealed class TestBroker : IAsyncDisposable
{
    public const string Issuer = "http://tessera.test";
    public static readonly DateTimeOffset Start = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Secrets of the default agents; hashes are in <see cref="DefaultYaml"/>.</summary>
    public const string SupportSecret = "support-secret-0123456789abcdef";
    public const string ExpiredSecret = "expired-secret-0123456789abcdef";

    private Action<WebApplicationBuilder>? _configure;

    private TestBroker(string directory, WebApplication app, ITesseraStore store, MasterKey masterKey, FakeTimeProvider time, TesseraConfig config, bool realHttp)
    {
        Directory = directory;
        App = app;
        Store = store;
        MasterKey = masterKey;
        Time = time;
        Config = config;
        RealHttp = realHttp;
        if (realHttp)
        {
            Address = new Uri(app.Urls.First());
            // As the in-memory server's client: no redirect followed, no cookie kept (tests see each answer as it is).
            Client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Address };
        }
        else
        {
            Client = app.GetTestClient();
        }
    }

    /// <summary>Set when the broker listens on a real loopback socket (see <see cref="StartAsync"/>).</summary>
    public Uri? Address { get; }

    public bool RealHttp { get; }

    public string Directory { get; }
    public WebApplication App { get; }
    public ITesseraStore Store { get; }
    public MasterKey MasterKey { get; }
    public FakeTimeProvider Time { get; }
    public TesseraConfig Config { get; }
    public HttpClient Client { get; }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public static string Sha256Hex(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string DefaultYaml(string agentExtras = "") => $$"""
        server:
          listen: {{Issuer}}
        storage: sqlite:data/tessera.db
        data_dir: data
        tokens:
          default_ttl: 5m
          max_ttl: 1h
        signing_keys:
          publish_ahead: 2m
        tools:
          - id: crm
            scopes:
              read: { rules: [ "GET /contacts/**" ] }
              export: { rules: [ "POST /exports" ] }
          - id: github
            audience: https://api.github.com
            scopes:
              repo.read: { rules: [ "GET /repos/**" ] }
          - id: vault
            require_dpop: true
            scopes:
              read: { rules: [ "GET /**" ] }
        agents:
        {{SupportAgentYaml("\"crm:read\", \"crm:export\", \"vault:read\"")}}
          - id: expired-agent
            owner: legacy@corp.example
            purpose: Old batch job
            expires: 2026-01-01
            auth:
              client_secret_sha256: {{Sha256Hex(ExpiredSecret)}}
            allowed_scopes: [ "crm:read" ]
        {{agentExtras}}
        """;

    /// <summary>A fresh, empty data directory under the temp folder, deleted when the broker is disposed.</summary>
    public static string NewDirectory() => Path.Combine(Path.GetTempPath(), "tessera-test-" + Guid.NewGuid().ToString("N"));

    /// <summary>support-agent's entry under <c>agents:</c> (secret <see cref="SupportSecret"/>), allowed <paramref name="allowedScopes"/>.</summary>
    public static string SupportAgentYaml(string allowedScopes) => $$"""
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{Sha256Hex(SupportSecret)}}
            allowed_scopes: [ {{allowedScopes}} ]
            max_ttl: 10m
        """;

    /// <summary>Starts a broker; <paramref name="directory"/> reuses an existing data directory (restart).</summary>
    /// <param name="realHttp">Listen with Kestrel on a loopback port instead of the in-memory server: the proxy
    /// tests need real request lines (raw targets) and real upstream connections.</param>
    public static async Task<TestBroker> StartAsync(string? yaml = null, string? directory = null, FakeTimeProvider? time = null, byte[]? masterKey = null,
        Func<ITesseraStore, ITesseraStore>? wrapStore = null, bool realHttp = false, Action<WebApplicationBuilder>? configure = null)
    {
        directory ??= NewDirectory();
        System.IO.Directory.CreateDirectory(directory);
        var configPath = Path.Combine(directory, "tessera.yaml");
        if (yaml is not null || !File.Exists(configPath))
        {
            await File.WriteAllTextAsync(configPath, yaml ?? DefaultYaml());
        }

        time ??= new TestClock(Start);
        var config = ConfigLoader.LoadFile(configPath, time);
        var key = new MasterKey(masterKey ?? KeyFor(directory));
        ITesseraStore store = SqliteTesseraStore.FromLocation(config.Storage);
        store = wrapStore?.Invoke(store) ?? store;
        var app = TesseraHost.Build(config, store, key, time, b =>
        {
            if (realHttp)
            {
                b.WebHost.UseUrls("http://127.0.0.1:0");
            }
            else
            {
                b.WebHost.UseTestServer();
            }

            configure?.Invoke(b);
        });
        await app.StartAsync();
        return new TestBroker(directory, app, store, key, time, config, realHttp) { _configure = configure };
    }

    /// <summary>One master key per test directory, so a restart finds the same key.</summary>
    private static byte[] KeyFor(string directory) => SHA256.HashData(Encoding.UTF8.GetBytes("test-master-key:" + directory));

    /// <summary>Stops this broker and starts another on the same data, host configuration and master key (a restart).</summary>
    public async Task<TestBroker> RestartAsync()
    {
        await StopAsync();
        return await StartAsync(directory: Directory, time: Time, realHttp: RealHttp, configure: _configure);
    }

    public async Task<HttpResponseMessage> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> form, AuthenticationHeaderValue? auth = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = auth;
        return await Client.SendAsync(request);
    }

    public static AuthenticationHeaderValue Basic(string clientId, string secret) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));

    /// <summary>client_credentials with client_secret_basic; returns the response.</summary>
    public Task<HttpResponseMessage> ClientCredentialsAsync(string clientId, string secret, params (string Name, string Value)[] parameters) =>
        PostFormAsync("/oauth/token", [new("grant_type", "client_credentials"), .. parameters.Select(p => KeyValuePair.Create(p.Name, p.Value))], Basic(clientId, secret));

    /// <summary>Issues a crm:read token to support-agent and returns the access token.</summary>
    public async Task<string> IssueAsync(string scope = "crm:read")
    {
        using var response = await ClientCredentialsAsync("support-agent", SupportSecret, ("scope", scope));
        var json = await ReadJsonAsync(response);
        return json.RootElement.GetProperty("access_token").GetString() ?? throw new InvalidOperationException(json.RootElement.ToString());
    }

    /// <summary>Sends <paramref name="method"/> <paramref name="path"/> with <paramref name="bearer"/> (no Authorization when null) and, when given, <paramref name="json"/> as the body: a string as it is (malformed bodies too), anything else serialized.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? bearer, object? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json as string ?? JsonSerializer.Serialize(json), Encoding.UTF8, "application/json");
        }

        return await Client.SendAsync(request);
    }

    /// <summary>An admin API call with the broker's own admin token (<see cref="AdminToken"/>).</summary>
    public Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, object? json = null) => SendAsync(method, path, AdminToken, json);

    /// <summary>Whether introspection by <paramref name="clientId"/> (support-agent unless said) calls <paramref name="token"/> active.</summary>
    public async Task<bool> IsActiveAsync(string token, string clientId = "support-agent", string secret = SupportSecret)
    {
        using var response = await PostFormAsync("/oauth/introspect", [new("token", token)], Basic(clientId, secret));
        using var json = await ReadJsonAsync(response);
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    /// <summary>
    /// Every audit event enqueued so far, oldest first. A marker is appended and awaited first: the
    /// single writer commits in order, so everything queued before it (a proxied request's event is
    /// not awaited by the request) is durable once it is. The marker is left out of the result.
    /// </summary>
    public async Task<IReadOnlyList<Core.Audit.AuditEvent>> AuditEventsAsync()
    {
        await Service<Core.Audit.AuditLog>().AppendAsync(new Core.Audit.AuditRecord { Type = "test.flush", Outcome = "allowed" });
        var events = await Store.Audit.QueryAsync(new Core.Audit.AuditQuery { Limit = 100_000 }, CancellationToken.None);
        return [.. events.Where(e => e.Record.Type != "test.flush")];
    }

    public string AdminToken => File.ReadAllText(Path.Combine(Config.DataDir, "admin.token")).Trim();

    public static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync());

    /// <summary>Stops this broker, keeping its directory, to start another over the same data.</summary>
    public Task StopForRestartAsync() => StopAsync();

    private async Task StopAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Store.DisposeAsync();
        if (RealHttp)
        {
            Client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
