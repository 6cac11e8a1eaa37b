using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Core.Configuration;
using Tessera.Core.Storage;
using Tessera.Core.Vault;
using Tessera.Server.Hosting;

namespace Tessera.Cli.Tests;

/// <summary>
/// A whole broker in this process on a loopback port, for client commands: <see cref="ConfigPath"/>
/// names its real address and its data directory, so the CLI finds it and the bootstrap admin token
/// as it would next to a running <c>tessera serve</c>.
/// </summary>
internal sealed class CliBroker : IAsyncDisposable
{
    public const string Agent = "support-agent";
    public const string AgentSecret = "support-secret-0123456789abcdef";

    private readonly string _directory;
    private readonly WebApplication _app;
    private readonly ITesseraStore _store;
    private readonly MasterKey _masterKey;

    private CliBroker(string directory, WebApplication app, ITesseraStore store, MasterKey masterKey, Uri address, string configPath, string serverConfigPath)
    {
        ServerConfigPath = serverConfigPath;
        _directory = directory;
        _app = app;
        _store = store;
        _masterKey = masterKey;
        Client = new HttpClient { BaseAddress = address };
        ConfigPath = configPath;
    }

    public HttpClient Client { get; }

    /// <summary>The broker's store, for arranging state no request can make here (a database lease without a database).</summary>
    public ITesseraStore Store => _store;

    /// <summary>The configuration to pass to client commands with <c>--config</c>.</summary>
    public string ConfigPath { get; }

    /// <summary>The file the broker was loaded from, and reads again on a reload.</summary>
    public string ServerConfigPath { get; }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public static async Task<CliBroker> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("tessera-cli-broker-").FullName;
        var serverConfig = Path.Combine(directory, "server.yaml");
        await File.WriteAllTextAsync(serverConfig, Yaml("http://127.0.0.1:8080"));
        var config = ConfigLoader.LoadFile(serverConfig);
        var masterKey = new MasterKey(SHA256.HashData(Encoding.UTF8.GetBytes("cli-test-master-key:" + directory)));
        ITesseraStore store = SqliteTesseraStore.FromLocation(config.Storage);
        var app = TesseraHost.Build(config, store, masterKey, new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero)),
            b => b.WebHost.UseUrls("http://127.0.0.1:0"));
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        var cliConfig = Path.Combine(directory, "tessera.yaml");
        await File.WriteAllTextAsync(cliConfig, Yaml(address.GetLeftPart(UriPartial.Authority)));
        return new CliBroker(directory, app, store, masterKey, address, cliConfig, serverConfig);
    }

    private static string Yaml(string listen) => $$"""
        server:
          listen: {{listen}}
        storage: sqlite:data/tessera.db
        data_dir: data
        tools:
          - id: crm
            scopes:
              read: { rules: [ "GET /contacts/**" ] }
        agents:
          - id: {{Agent}}
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AgentSecret)))}}
            allowed_scopes: [ "crm:read" ]
        """;

    /// <summary>A token request with <c>client_secret_post</c>: the client id goes into the form as it is.</summary>
    public async Task<HttpResponseMessage> RequestTokenAsync(string clientId, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("client_id", clientId), new("client_secret", secret), new("scope", "crm:read")]),
        };
        return await Client.SendAsync(request);
    }

    /// <summary>A token for the agent, with <c>client_secret_basic</c>.</summary>
    public async Task<HttpResponseMessage> RequestAgentTokenAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Agent}:{AgentSecret}")));
        return await Client.SendAsync(request);
    }

    /// <summary>The events of <paramref name="type"/> committed so far.</summary>
    public Task<IReadOnlyList<Tessera.Core.Audit.AuditEvent>> AuditEventsAsync(string type) =>
        _store.Audit.QueryAsync(new Tessera.Core.Audit.AuditQuery { Type = type, Limit = 1000 }, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _store.DisposeAsync();
        _masterKey.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
