namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A broker with an identity provider and a chain of agents: A may delegate to B, B to C, C to D;
/// X may delegate to nobody. Alice's ceiling excludes github:pr.write.
/// </summary>
public static class DelegationBroker
{
    public const string Secret = "delegation-secret-0123456789abcdef";

    public static readonly string[] Agents = ["agent-a", "agent-b", "agent-c", "agent-d", "agent-x"];

    public static async Task<(TestBroker Broker, TestIdp Idp)> StartAsync(int maxDepth = 3)
    {
        var idp = new TestIdp();
        var directory = idp.NewBrokerDirectory();
        var hash = TestBroker.Sha256Hex(Secret);
        var yaml = $$"""
            server: { listen: "{{TestBroker.Issuer}}" }
            tokens: { default_ttl: 5m, max_ttl: 1h, max_delegation_depth: {{maxDepth}} }
            {{TestIdp.Yaml}}
            admins: [ { idp: corp, sub: carol } ]
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export", "github:repo.read" ] }
            tools:
              - id: crm
                client_id: crm-service
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ] }
                  delete: { rules: [ "DELETE /contacts/*" ] }
              - id: github
                audience: https://api.github.com
                scopes:
                  repo.read: { rules: [ "GET /repos/**" ] }
                  pr.write: { rules: [ "POST /repos/*/*/pulls" ] }
            agents:
            {{Agent("agent-a", "[ \"crm:read\", \"crm:export\", \"github:repo.read\", \"github:pr.write\" ]", "[ agent-b ]", "20m")}}
            {{Agent("agent-b", "[ \"crm:read\", \"crm:export\" ]", "[ agent-c ]", "10m")}}
            {{Agent("agent-c", "[ \"crm:read\", \"crm:export\", \"crm:delete\" ]", "[ agent-d ]", "5m")}}
            {{Agent("agent-d", "[ \"crm:read\" ]", "[ ]", "5m")}}
            {{Agent("agent-x", "[ \"crm:read\" ]", "[ ]", "5m")}}
            {{Agent("crm-service", "[ ]", "[ ]", "5m")}}
            """;
        var broker = await TestBroker.StartAsync(yaml, directory);
        return (broker, idp);
    }

    private static string Agent(string id, string scopes, string delegates, string ttl) => $$"""
          - id: {{id}}
            owner: {{id}}-owner@corp.example
            purpose: Test agent {{id}}
            expires: 2027-06-30
            auth: { client_secret_sha256: {{TestBroker.Sha256Hex(Secret)}} }
            allowed_scopes: {{scopes}}
            max_ttl: {{ttl}}
            may_delegate_to: {{delegates}}
        """;

    /// <summary>Token exchange by <paramref name="agent"/>; <paramref name="resource"/> null asks for a mission token.</summary>
    public static Task<HttpResponseMessage> ExchangeAsync(this TestBroker broker, string agent, string subjectToken, string? resource = null,
        string? scope = null, string? purpose = null, string subjectTokenType = "urn:ietf:params:oauth:token-type:jwt", params (string, string)[] extra)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            new("subject_token", subjectToken),
            new("subject_token_type", subjectTokenType),
        };
        if (resource is not null)
        {
            form.Add(new("resource", resource));
        }

        if (scope is not null)
        {
            form.Add(new("scope", scope));
        }

        if (purpose is not null)
        {
            form.Add(new("purpose", purpose));
        }

        form.AddRange(extra.Select(e => KeyValuePair.Create(e.Item1, e.Item2)));
        return broker.PostFormAsync("/oauth/token", form, TestBroker.Basic(agent, Secret));
    }

    /// <summary>An exchange that must succeed; returns the access token.</summary>
    public static async Task<string> ExchangeOkAsync(this TestBroker broker, string agent, string subjectToken, string? resource = null, string? scope = null, string? purpose = null)
    {
        using var response = await broker.ExchangeAsync(agent, subjectToken, resource, scope, purpose);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>The error code of a refused request, asserting status 400.</summary>
    public static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("error").GetString()!;
    }

    /// <summary>The claims of a token, decoded without validation (tests inspect what they were given).</summary>
    public static JsonElement Claims(string token) =>
        JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement.Clone();

    /// <summary>Introspection as an admin (sees everything).</summary>
    public static async Task<JsonElement> IntrospectAsync(this TestBroker broker, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect") { Content = new FormUrlEncodedContent([new("token", token)]) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", broker.AdminToken);
        using var response = await broker.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
