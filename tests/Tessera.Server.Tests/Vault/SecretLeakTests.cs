using Microsoft.AspNetCore.Http;

namespace Tessera.Server.Tests.Vault;

/// <summary>
/// No secret value appears in any log line, audit event, error message or response. A whole
/// session (put, rotate, list, rekey, allowed and refused proxied requests, upstream failures,
/// malformed and refused secret bodies) runs with every log line captured at Trace level; then all
/// of it is searched for every value that went in.
/// </summary>
public sealed class SecretLeakTests : IAsyncLifetime
{
    private const string Rotated = "crm-rotated-value-8d41e07b2a";
    private const string Refused = "crm-refused-value-5c19f3a6e0";
    private const string Malformed = "crm-malformed-value-77ab02c4";
    private const string Oversized = "crm-oversized-value-e3d9b1f0";
    private const string WithNewline = "crm-newline-value-0a6c2e93";

    private readonly CapturingLoggerProvider _logs = new();
    private readonly StringBuilder _responses = new();
    private ProxyBroker _proxy = null!;

    public async ValueTask InitializeAsync() => _proxy = await ProxyBroker.StartAsync(configure: _logs.AddTo);

    public async ValueTask DisposeAsync() => await _proxy.DisposeAsync();

    [Fact]
    public async Task No_secret_value_or_token_appears_in_logs_audit_events_or_responses_during_a_full_session()
    {
        // Secrets change hands through the admin API, the way the CLI sends them.
        await SendSecretAsync(HttpMethod.Post, "/admin/v1/secrets/crm-key/rotate", $$"""{"value":"{{Rotated}}"}""", HttpStatusCode.OK);
        await SendSecretAsync(HttpMethod.Put, "/admin/v1/secrets/crm-key", $$"""{"value":"{{Refused}}"}""", HttpStatusCode.Conflict);
        await SendSecretAsync(HttpMethod.Put, "/admin/v1/secrets/new-key", $$"""{"value":"{{Malformed}}","extra":"{{Malformed}}"}""", HttpStatusCode.BadRequest);
        await SendSecretAsync(HttpMethod.Put, "/admin/v1/secrets/new-key", $"not json {Malformed}", HttpStatusCode.BadRequest);
        await SendSecretAsync(HttpMethod.Put, "/admin/v1/secrets/new-key", $$"""{"value":"{{Oversized}}{{new string('x', 120_000)}}"}""", HttpStatusCode.RequestEntityTooLarge);
        await SendSecretAsync(HttpMethod.Put, "/admin/v1/secrets/new-key", $$"""{"value":"{{Oversized}}{{new string('y', 17_000)}}"}""", HttpStatusCode.BadRequest);
        await SendSecretAsync(HttpMethod.Post, "/admin/v1/secrets/crm-key/rotate", $$"""{"value":"{{WithNewline}}\r\nX-Injected: 1"}""", HttpStatusCode.BadRequest);
        await SendSecretAsync(HttpMethod.Put, "/admin/v1/secrets/bad%20name", $$"""{"value":"{{Refused}}"}""", HttpStatusCode.BadRequest);
        await SendAdminAsync(HttpMethod.Get, "/admin/v1/secrets", HttpStatusCode.OK);

        // Proxied requests: forwarded, refused, and failing upstream.
        var token = await _proxy.TokenAsync("crm:read crm:export");
        var github = await _proxy.TokenAsync("github:repo.read");
        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token, HttpStatusCode.OK);
        await ProxyAsync(HttpMethod.Get, "/proxy/github/repos/acme/widgets", github, HttpStatusCode.OK);
        await ProxyAsync(HttpMethod.Delete, "/proxy/crm/contacts/1", token, HttpStatusCode.Forbidden);
        await ProxyAsync(HttpMethod.Get, "/proxy/github/repos/acme/widgets", token, HttpStatusCode.Forbidden);
        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token + "x", HttpStatusCode.Unauthorized);
        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token, HttpStatusCode.BadRequest, r => r.Headers.Add("X-HTTP-Method-Override", "DELETE"));
        var (ambiguous, raw) = await _proxy.RawAsync("GET", "/proxy/crm/contacts/%2e%2e/exports", token);
        Assert.Equal(400, ambiguous);
        _responses.AppendLine(raw);
        await ProxyAsync(HttpMethod.Get, "/proxy/nokey/anything", await _proxy.TokenAsync("nokey:read"), HttpStatusCode.ServiceUnavailable);
        await ProxyAsync(HttpMethod.Get, "/proxy/dead/anything", await _proxy.TokenAsync("dead:read"), HttpStatusCode.BadGateway);
        _proxy.Upstream.Handler = context =>
        {
            context.Response.StatusCode = 500;
            return context.Response.WriteAsync("upstream exploded");
        };
        await ProxyAsync(HttpMethod.Post, "/proxy/crm/exports", token, HttpStatusCode.InternalServerError, r => r.Content = new StringContent("{}"));
        _proxy.Upstream.Handler = _ => throw new InvalidOperationException("upstream crashed");
        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/2", token, HttpStatusCode.InternalServerError);
        _proxy.Upstream.Handler = null;

        // Rekey, then the value is still injected.
        await SendAdminAsync(HttpMethod.Post, "/admin/v1/vault/rekey", HttpStatusCode.OK);
        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/3", token, HttpStatusCode.OK);
        await SendAdminAsync(HttpMethod.Get, "/admin/v1/audit", HttpStatusCode.OK);

        // The values were really in use, so not finding them below means something.
        var injected = _proxy.Upstream.Received.Where(r => r.Headers.ContainsKey("X-Api-Key")).Select(r => r.Headers["X-Api-Key"]).Distinct().ToList();
        Assert.Equal([Rotated], injected);
        Assert.Contains(_proxy.Upstream.Received, r => r.Headers.TryGetValue("Authorization", out var a) && a == "Bearer " + ProxyBroker.GithubToken);

        var audit = string.Join("\n", (await _proxy.Broker.AuditEventsAsync()).Select(e => Encoding.UTF8.GetString(e.Json)));
        var logs = _logs.All;
        var responses = _responses.ToString();
        Assert.Contains("secret.rotated", audit, StringComparison.Ordinal);
        Assert.Contains("proxy.denied", audit, StringComparison.Ordinal);
        Assert.Contains("Upstream of tool dead failed", logs, StringComparison.Ordinal);
        Assert.Contains(_logs.Lines, l => l.StartsWith("Trace ", StringComparison.Ordinal) || l.StartsWith("Debug ", StringComparison.Ordinal));

        foreach (var (name, value) in Secrets(token, github))
        {
            Assert.False(audit.Contains(value, StringComparison.Ordinal), $"{name} is in an audit event");
            Assert.False(logs.Contains(value, StringComparison.Ordinal), $"{name} is in a log line: {_logs.Lines.FirstOrDefault(l => l.Contains(value, StringComparison.Ordinal))}");
            Assert.False(responses.Contains(value, StringComparison.Ordinal), $"{name} is in a response");
        }
    }

    [Fact]
    public async Task A_tampered_secret_does_not_leak_its_value_into_the_refusal_or_the_logs()
    {
        var token = await _proxy.TokenAsync();
        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token, HttpStatusCode.OK);
        VaultTamperTests.Update(_proxy, "UPDATE secret_versions SET key_id = 'kek-forged' WHERE name = 'crm-key'");
        await _proxy.RestartAsync();

        await ProxyAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token, HttpStatusCode.ServiceUnavailable);

        Assert.Contains(_logs.Lines, l => l.Contains("fails its integrity check", StringComparison.Ordinal));
        Assert.DoesNotContain(ProxyBroker.CrmKey, _logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(ProxyBroker.CrmKey, _responses.ToString(), StringComparison.Ordinal);
        Assert.Single(_proxy.Upstream.Received);
    }

    private IEnumerable<(string Name, string Value)> Secrets(string token, string github) =>
    [
        ("the original crm value", ProxyBroker.CrmKey),
        ("the rotated crm value", Rotated),
        ("the github value", ProxyBroker.GithubToken),
        ("a value refused as a conflict", Refused),
        ("a value in a malformed body", Malformed),
        ("a value in an oversized body", Oversized),
        ("a value refused for its line break", WithNewline),
        ("the agent's crm token", token),
        ("the signature of the agent's crm token", token[(token.LastIndexOf('.') + 1)..]),
        ("the agent's github token", github),
        ("the agent's client secret", TestBroker.SupportSecret),
        ("the admin token", _proxy.Broker.AdminToken),
    ];

    private async Task SendSecretAsync(HttpMethod method, string path, string body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _proxy.Broker.AdminToken);
        using var response = await _proxy.Broker.Client.SendAsync(request);
        await RecordAsync(response, expected);
    }

    private async Task SendAdminAsync(HttpMethod method, string path, HttpStatusCode expected)
    {
        using var response = await _proxy.AdminAsync(method, path, method == HttpMethod.Post ? new { } : null);
        await RecordAsync(response, expected);
    }

    private async Task ProxyAsync(HttpMethod method, string path, string token, HttpStatusCode expected, Action<HttpRequestMessage>? configure = null)
    {
        using var response = await _proxy.SendAsync(method, path, token, configure);
        await RecordAsync(response, expected);
    }

    private async Task RecordAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        _responses.AppendLine(response.ToString()).AppendLine(body);
        Assert.True(expected == response.StatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {(int)expected}, got {(int)response.StatusCode} {body}");
    }
}
