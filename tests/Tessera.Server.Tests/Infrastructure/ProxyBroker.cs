using System.Net.Http.Json;
using System.Net.Sockets;
using Tessera.Core.Tokens;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A broker on a real loopback port in front of a real upstream (<see cref="TestUpstream"/>), with
/// the tools' secrets put through the admin API, as an operator would.
/// </summary>
public sealed class ProxyBroker : IAsyncDisposable
{
    public const string CrmKey = "crm-upstream-key-3f9a1c7e5b2d";
    public const string GithubToken = "ghp_upstreamtoken0123456789";
    public const string StrictSecret = "strict-agent-secret-0123456789abcdef";

    private ProxyBroker(TestUpstream upstream, TestBroker broker)
    {
        Upstream = upstream;
        Broker = broker;
    }

    public TestUpstream Upstream { get; }

    public TestBroker Broker { get; private set; }

    /// <param name="extraTools">More tool entries; <c>{UPSTREAM}</c> is replaced by the upstream's address.</param>
    /// <param name="agentScopes">More scopes for support-agent's <c>allowed_scopes</c>.</param>
    /// <param name="extraAgents">More agent entries; <c>{{STRICT}}</c> is the hash of <see cref="StrictSecret"/>.</param>
    public static string Yaml(Uri upstream, string extraTools = "", IReadOnlyList<string>? agentScopes = null, string extraAgents = "") => $$"""
        server:
          listen: {{TestBroker.Issuer}}
        storage: sqlite:data/tessera.db
        data_dir: data
        tokens:
          default_ttl: 5m
          max_ttl: 1h
        tools:
          - id: crm
            upstream: {{upstream}}
            credential: { secret: crm-key, header: X-Api-Key }
            rotate_every: 30d
            scopes:
              read: { rules: [ "GET /contacts/**", "GET /accounts/*" ] }
              export: { rules: [ "POST /exports" ] }
          - id: github
            audience: https://api.github.com
            upstream: {{upstream}}
            credential: { secret: gh-token, header: Authorization, format: "Bearer {secret}" }
            scopes:
              repo.read: { rules: [ "GET /repos/**" ] }
          - id: slow
            upstream: {{upstream}}
            timeout: 1s
            scopes:
              read: { rules: [ "GET /**" ] }
          - id: dead
            upstream: http://127.0.0.1:9
            scopes:
              read: { rules: [ "GET /**" ] }
          - id: nokey
            upstream: {{upstream}}
            credential: { secret: never-put, header: X-Api-Key }
            scopes:
              read: { rules: [ "GET /**" ] }
        {{extraTools.Replace("{UPSTREAM}", upstream.ToString(), StringComparison.Ordinal)}}
        agents:
        {{TestBroker.SupportAgentYaml("\"crm:read\", \"crm:export\", \"github:repo.read\", \"slow:read\", \"dead:read\", \"nokey:read\"" + string.Concat((agentScopes ?? []).Select(s => $", \"{s}\"")))}}
        {{extraAgents.Replace("{{STRICT}}", TestBroker.Sha256Hex(StrictSecret), StringComparison.Ordinal)}}
        """;

    public static async Task<ProxyBroker> StartAsync(string extraTools = "", IReadOnlyList<string>? agentScopes = null, string extraAgents = "",
        Func<Core.Storage.ITesseraStore, Core.Storage.ITesseraStore>? wrapStore = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null,
        string extraSections = "")
    {
        var upstream = await TestUpstream.StartAsync();
        var broker = await TestBroker.StartAsync(Yaml(upstream.Address, extraTools, agentScopes, extraAgents) + "\n" + extraSections, realHttp: true, wrapStore: wrapStore, configure: configure);
        var proxy = new ProxyBroker(upstream, broker);
        await proxy.PutSecretAsync("crm-key", CrmKey);
        await proxy.PutSecretAsync("gh-token", GithubToken);
        return proxy;
    }

    public async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Broker.AdminToken);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await Broker.Client.SendAsync(request);
    }

    public async Task PutSecretAsync(string name, string value)
    {
        using var response = await AdminAsync(HttpMethod.Put, $"/admin/v1/secrets/{name}", new { value });
        response.EnsureSuccessStatusCode();
    }

    public async Task RotateSecretAsync(string name, string value)
    {
        using var response = await AdminAsync(HttpMethod.Post, $"/admin/v1/secrets/{name}/rotate", new { value });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A token for support-agent by client_credentials.</summary>
    public Task<string> TokenAsync(string scope = "crm:read") => Broker.IssueAsync(scope);

    /// <summary>A token signed by the broker's current key with the given claims changed (for max_uses).</summary>
    public string SignToken(Func<AccessTokenClaims, AccessTokenClaims> change, string scope = "crm:read", string audience = "urn:tessera:tool:crm")
    {
        var now = Broker.Time.GetUtcNow().ToUnixTimeSeconds();
        var claims = new AccessTokenClaims
        {
            Issuer = TestBroker.Issuer,
            Subject = "support-agent",
            Audience = audience,
            ClientId = "support-agent",
            Scope = ScopeSet.Parse(scope),
            Jti = Guid.NewGuid().ToString("N"),
            IssuedAt = now,
            ExpiresAt = now + 300,
        };
        return JwtSigner.Sign(Broker.Service<SigningKeyService>().Current(), change(claims));
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        configure?.Invoke(request);
        return await Broker.Client.SendAsync(request);
    }

    /// <summary>
    /// Sends one request exactly as written (no client-side URI canonicalization) over a raw socket and
    /// returns the status code and body. <paramref name="target"/> is the request-target of the request line.
    /// </summary>
    public async Task<(int Status, string Response)> RawAsync(string method, string target, string? token, params string[] headers)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Broker.Address!.Host, Broker.Address.Port);
        await using var stream = tcp.GetStream();
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
        request.Append("Host: ").Append(Broker.Address.Authority).Append("\r\n");
        if (token is not null)
        {
            request.Append("Authorization: Bearer ").Append(token).Append("\r\n");
        }

        foreach (var header in headers)
        {
            request.Append(header).Append("\r\n");
        }

        request.Append("Content-Length: 0\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var statusLine = response.Split("\r\n", 2)[0];
        var parts = statusLine.Split(' ');
        return (parts.Length > 1 && int.TryParse(parts[1], out var status) ? status : 0, response);
    }

    /// <summary>Restarts the broker over the same data and master key (it listens on a new port); the upstream keeps running.</summary>
    public async Task RestartAsync() => Broker = await Broker.RestartAsync();

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
