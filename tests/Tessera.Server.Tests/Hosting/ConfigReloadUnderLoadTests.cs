using System.Collections.Concurrent;

namespace Tessera.Server.Tests.Hosting;

/// <summary>
/// Reloading the configuration while agents are served (docs/operations.md, "Reloading the
/// configuration"): each request runs under the snapshot it pinned when it arrived, and a reload
/// that changes nothing the load depends on fails none of it.
/// </summary>
public sealed class ConfigReloadUnderLoadTests
{
    private const int Workers = 4;
    private const int Reloads = 30;

    // Each reload waits for this many more rounds (a token and a proxied call) from the workers, so
    // every reload happens while requests are in flight, without a clock.
    private const int RoundsBetweenReloads = Workers;

    [Fact]
    public async Task Reloads_under_concurrent_token_and_proxy_load_fail_no_request_and_are_each_on_record()
    {
        var unrelated = new Unrelated();
        await using var proxy = await ProxyBroker.StartAsync(extraTools: unrelated.ToolYaml);
        var configPath = Path.Combine(proxy.Broker.Directory, "tessera.yaml");
        var admin = proxy.Broker.AdminToken;
        var cancel = TestContext.Current.CancellationToken;

        using var failed = new CancellationTokenSource();
        using var rounds = new SemaphoreSlim(0);
        var reloadsDone = false;
        var statuses = new ConcurrentQueue<(string Request, HttpStatusCode Status)>();
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            try
            {
                while (!Volatile.Read(ref reloadsDone))
                {
                    using var issued = await proxy.Broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
                    statuses.Enqueue(("token", issued.StatusCode));
                    if (issued.StatusCode != HttpStatusCode.OK)
                    {
                        rounds.Release();
                        continue;
                    }

                    using var json = await TestBroker.ReadJsonAsync(issued);
                    var token = json.RootElement.GetProperty("access_token").GetString();
                    using var proxied = await proxy.SendAsync(HttpMethod.Get, "/proxy/crm/contacts/1", token);
                    statuses.Enqueue(("proxy", proxied.StatusCode));
                    rounds.Release();
                }
            }
            catch
            {
                // The reloads stop waiting for rounds that will not come; awaiting the workers rethrows.
                await failed.CancelAsync();
                throw;
            }
        }, cancel)).ToList();

        var written = new List<(string Hash, string Change)>();
        try
        {
            for (var reload = 0; reload < Reloads; reload++)
            {
                for (var round = 0; round < RoundsBetweenReloads; round++)
                {
                    await rounds.WaitAsync(failed.Token);
                }

                var change = unrelated.Next(reload);
                var bytes = Encoding.UTF8.GetBytes(ProxyBroker.Yaml(proxy.Upstream.Address, unrelated.ToolYaml, extraAgents: unrelated.AgentYaml) + "\n");
                await File.WriteAllBytesAsync(configPath, bytes, cancel);
                var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
                using var answer = await proxy.Broker.SendAsync(HttpMethod.Post, "/admin/v1/config/reload", admin);
                var body = await answer.Content.ReadAsStringAsync(cancel);
                Assert.True(answer.StatusCode == HttpStatusCode.OK, $"reload {reload}: {(int)answer.StatusCode} {body}");
                using var reloaded = JsonDocument.Parse(body);
                Assert.True(reloaded.RootElement.GetProperty("reloaded").GetBoolean());
                Assert.Equal(hash, reloaded.RootElement.GetProperty("config_hash").GetString());
                written.Add((hash, change));
            }
        }
        finally
        {
            Volatile.Write(ref reloadsDone, true);
        }

        await Task.WhenAll(workers);

        var refused = statuses.Where(s => s.Status != HttpStatusCode.OK).ToList();
        Assert.True(refused.Count == 0, $"{refused.Count} of {statuses.Count} load requests failed: {string.Join(", ", refused.Take(10))}");
        // Each reload waited for its rounds, so at least this many requests ran alongside the reloads.
        Assert.True(statuses.Count >= Reloads * RoundsBetweenReloads * 2, $"{statuses.Count} load requests");
        Assert.Equal(statuses.Count(s => s.Request == "token"), statuses.Count(s => s.Request == "proxy"));

        var events = await proxy.Broker.AuditEventsAsync();
        Assert.DoesNotContain(events, e => e.Record.Type == AuditTypes.ConfigRefused);
        var onRecord = events.Where(e => e.Record.Type == AuditTypes.ConfigReloaded).ToList();
        Assert.Equal(written.Select(w => w.Hash), onRecord.Select(e => e.Record.ConfigHash));
        Assert.Equal(written.Select(w => w.Change), onRecord.Select(e => Assert.Single(e.Record.Changes ?? [])));
        Assert.All(onRecord, e => Assert.Equal("bootstrap-admin", e.Record.Principal));
    }

    /// <summary>
    /// The part of the configuration the load never touches: another agent, another tool's rules and
    /// another scope. Each reload changes one of them, so each is one known change line.
    /// </summary>
    private sealed class Unrelated
    {
        private bool _otherAgent;
        private int _rulesVersion;
        private bool _writeScope;

        public string ToolYaml => $$"""
              - id: wiki
                upstream: {UPSTREAM}
                scopes:
                  read: { rules: [ "GET /pages/v{{_rulesVersion}}/**" ] }
            {{(_writeScope ? "      write: { rules: [ \"PUT /pages/**\" ] }" : "")}}
            """;

        public string AgentYaml => !_otherAgent ? "" : $$"""
              - id: other-agent
                owner: wiki-platform@corp.example
                purpose: Edit the wiki
                expires: 2027-06-30
                auth:
                  client_secret_sha256: {{TestBroker.Sha256Hex("other-agent-secret-0123456789abcdef")}}
                allowed_scopes: [ "wiki:read" ]
            """;

        /// <summary>Changes one thing and returns its change line.</summary>
        public string Next(int reload)
        {
            switch (reload % 3)
            {
                case 0:
                    _otherAgent = !_otherAgent;
                    return _otherAgent ? "agent added: other-agent" : "agent removed: other-agent";
                case 1:
                    _rulesVersion++;
                    return "scope changed: wiki:read (rules)";
                default:
                    _writeScope = !_writeScope;
                    return _writeScope ? "scope added: wiki:write" : "scope removed: wiki:write";
            }
        }
    }
}
