namespace Tessera.Server.Tests.Mcp;

/// <summary>
/// A broker on a real loopback port (a <see cref="ProxyBroker"/>, so its HTTP tools are there too) with
/// an MCP tool <c>issues</c> in front of a running <see cref="McpTestServer"/>, its vault secret the
/// credential that server requires, and support-agent allowed the tool's three scopes.
/// </summary>
public sealed class McpBroker : IAsyncDisposable
{
    public const string ToolId = "issues";

    /// <summary>The vault secret; formatted as <c>Bearer {secret}</c> it is <see cref="McpTestServer.Credential"/>.</summary>
    public const string UpstreamSecret = "upstream-secret";

    /// <summary>A second agent allowed to read the tool: the one that must not use support-agent's session.</summary>
    public const string OtherAgent = "other-agent";

    private const string OtherAgentYaml = """
          - id: other-agent
            owner: other-platform@corp.example
            purpose: Triage issues
            expires: 2027-06-30
            auth:
              client_secret_sha256: {{STRICT}}
            allowed_scopes: [ "issues:read" ]
        """;

    private McpBroker(McpTestServer upstream, ProxyBroker proxy)
    {
        Upstream = upstream;
        Proxy = proxy;
    }

    public McpTestServer Upstream { get; }

    public ProxyBroker Proxy { get; }

    public TestBroker Broker => Proxy.Broker;

    /// <summary>The tool's proxy URL on the broker's real port, where an agent's MCP client connects.</summary>
    public Uri Endpoint => new(Broker.Address!, "/proxy/" + ToolId);

    public static string ToolYaml(Uri upstream) => $$"""
          - id: {{ToolId}}
            protocol: mcp
            upstream: {{upstream}}
            credential: { secret: issues-key, header: Authorization, format: "Bearer {secret}" }
            scopes:
              read:  { rules: [ "MCP tools/list", "MCP tools/call search_*", "MCP tools/call get_issue", "MCP resources/list", "MCP resources/read repo://acme/widgets/**", "MCP prompts/list", "MCP prompts/get summarize" ] }
              write: { rules: [ "MCP tools/call create_issue" ] }
              admin: { rules: [ "MCP tools/call delete_*" ] }
        """;

    /// <param name="options">How the MCP server upstream behaves.</param>
    /// <param name="configure">Changes to the broker's host (as <see cref="ProxyBroker.StartAsync"/>).</param>
    /// <param name="extraSections">More top-level sections of the broker's configuration.</param>
    public static async Task<McpBroker> StartAsync(McpTestServerOptions? options = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null,
        string extraSections = "")
    {
        var upstream = await McpTestServer.StartAsync(options);
        ProxyBroker? proxy = null;
        try
        {
            proxy = await ProxyBroker.StartAsync(extraTools: ToolYaml(upstream.Endpoint), agentScopes: ["issues:read", "issues:write", "issues:admin"], extraAgents: OtherAgentYaml,
                configure: configure, extraSections: extraSections);
            await proxy.PutSecretAsync("issues-key", UpstreamSecret);
            return new McpBroker(upstream, proxy);
        }
        catch
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }

            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>A token for support-agent by client_credentials.</summary>
    public Task<string> TokenAsync(string scope = "issues:read") => Proxy.TokenAsync(scope);

    /// <summary>A token for the tool signed with its claims changed (another agent, a principal).</summary>
    public string SignToken(Func<Tessera.Core.Tokens.AccessTokenClaims, Tessera.Core.Tokens.AccessTokenClaims> change, string scope = "issues:read") =>
        Proxy.SignToken(change, scope, "urn:tessera:tool:" + ToolId);

    /// <summary>One raw POST to <paramref name="target"/> (default: the tool's endpoint) with a JSON-RPC body, as an MCP client sends it.</summary>
    public Task<RawResponse> PostAsync(string? token, string body, params string[] headers) =>
        PostBytesAsync(token, Encoding.UTF8.GetBytes(body), headers);

    /// <inheritdoc cref="PostAsync"/>
    public Task<RawResponse> PostBytesAsync(string? token, byte[] body, string[] headers, string target = "/proxy/" + ToolId, string contentType = "application/json") =>
        RawHttp.SendAsync(Broker.Address!, "POST", target,
        [
            .. token is null ? Array.Empty<string>() : [$"Authorization: Bearer {token}"],
            $"Content-Type: {contentType}",
            "Accept: application/json, text/event-stream",
            $"Content-Length: {body.Length}",
            .. headers,
        ], body);

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
