using System.Net.Sockets;
using Tessera.Core.Configuration;

namespace Tessera.Server.Tests.Attacks;

/// <summary>
/// Floods of failing requests (<c>rate_limits</c>): guessing a client secret, unauthenticated
/// requests to the proxy, the admin API and introspection. Once a source or client id has used up
/// its allowance of failures, its requests are refused with 429 and <c>Retry-After</c> before they
/// are checked, and are counted in a few <c>ratelimit.*</c> events instead of one audit event each;
/// the audit log (and the disk under it) grows by a bounded amount. Successful traffic is never
/// counted, so a client whose requests succeed is never limited.
/// </summary>
public sealed class FloodAttackTests
{
    private const string Limits = """
        rate_limits:
          failed_auth_per_client: 5
          failed_auth_per_source: 8
          refusals_per_second: 2
          refusal_burst: 10
          refusal_delay_ms: 0
        """;

    /// <summary>
    /// The default limits, with 429s answered at once: these tests run on a clock that moves only when they
    /// move it (<see cref="A_refusal_over_the_allowance_is_held_for_the_refusal_delay_on_the_servers_clock"/> tests the delay).
    /// </summary>
    private const string NoDelay = """
        rate_limits:
          refusal_delay_ms: 0
        """;

    [Theory]
    [InlineData("/oauth/token")]
    [InlineData("/proxy/crm/contacts/1")]
    public async Task A_refusal_over_the_allowance_is_held_for_the_refusal_delay_on_the_servers_clock(string path)
    {
        // Real HTTP: the limits are per source address.
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml(Limits.Replace("refusal_delay_ms: 0", "refusal_delay_ms: 500", StringComparison.Ordinal)), realHttp: true);
        var attempts = 0;
        Task<HttpResponseMessage> Attempt() => path == "/oauth/token"
            ? broker.ClientCredentialsAsync($"nobody-{attempts++}", "guess")
            : broker.SendAsync(HttpMethod.Get, path, bearer: "forged");

        // Use up the source's allowance: 8 failed authentications, or a burst of 10 refusals.
        for (var i = 0; i < 10; i++)
        {
            using var refused = await Attempt();
            Assert.NotEqual((HttpStatusCode)429, refused.StatusCode);
            if (path == "/oauth/token" && i == 7)
            {
                break;
            }
        }

        var before = broker.Time.GetUtcNow();
        using var held = await ((TestClock)broker.Time).StepUntilAsync(Attempt(), due => due == TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1));
        Assert.Equal((HttpStatusCode)429, held.StatusCode);

        // The answer came once the server's clock had moved by the delay, not before.
        Assert.Equal(TimeSpan.FromMilliseconds(500), broker.Time.GetUtcNow() - before);
    }

    private static Task<TestBroker> StartAsync() => TestBroker.StartAsync(TestBroker.DefaultYaml(Limits));

    [Fact]
    public async Task Guessing_a_client_secret_is_refused_with_429_before_the_secret_is_checked()
    {
        await using var broker = await StartAsync();

        for (var i = 0; i < 5; i++)
        {
            using var wrong = await broker.ClientCredentialsAsync("support-agent", $"guess-{i}", ("scope", "crm:read"));
            await OAuthAssert.ErrorAsync(wrong, HttpStatusCode.Unauthorized, "invalid_client");
        }

        // The right secret now gets the same 429 as a wrong one: the attempt is refused before it is checked.
        using var right = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
        var body = await OAuthAssert.ErrorAsync(right, (HttpStatusCode)429, "slow_down");
        Assert.Contains("client id", body, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(12), right.Headers.RetryAfter?.Delta);
        Assert.Equal("no-store", right.Headers.CacheControl?.ToString());

        var events = await broker.AuditEventsAsync();
        Assert.Equal(5, events.Count(e => e.Record.Type == "token.denied"));
        Assert.DoesNotContain(events, e => e.Record.Type == "token.issued");
        var exceeded = Assert.Single(events, e => e.Record.Type == "ratelimit.exceeded");
        Assert.Equal("support-agent", exceeded.Record.Agent);
        Assert.Equal("denied", exceeded.Record.Outcome);

        // Twelve seconds give one attempt back (5 per minute), and the right secret works again.
        broker.Time.Advance(TimeSpan.FromSeconds(12));
        using var later = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
        await OAuthAssert.TokenAsync(later);
    }

    [Fact]
    public async Task Refused_guesses_are_counted_in_a_summary_not_recorded_one_by_one()
    {
        await using var broker = await StartAsync();
        for (var i = 0; i < 8; i++)
        {
            using var wrong = await broker.ClientCredentialsAsync($"client-{i}", "guess");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        for (var i = 0; i < 200; i++)
        {
            using var refused = await broker.ClientCredentialsAsync($"other-{i}", "guess");
            await OAuthAssert.ErrorAsync(refused, (HttpStatusCode)429, "slow_down");
        }

        broker.Time.Advance(TimeSpan.FromMinutes(1));
        var events = await broker.AuditEventsAsync();

        Assert.Equal(8, events.Count(e => e.Record.Type == "token.denied"));
        Assert.Single(events, e => e.Record.Type == "ratelimit.exceeded");
        var summary = Assert.Single(events, e => e.Record.Type == "ratelimit.summary");
        Assert.StartsWith("failed client authentications from unknown: 200 attempts refused since", summary.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flood_of_unauthenticated_proxy_requests_writes_a_bounded_number_of_audit_events()
    {
        await using var proxy = await ProxyBroker.StartAsync(extraSections: NoDelay);
        var broker = proxy.Broker;

        var statuses = new List<int>();
        string? limited = null;
        for (var i = 0; i < 300; i++)
        {
            var (status, response) = await proxy.RawAsync("GET", "/proxy/crm/contacts/1", token: i % 2 == 0 ? null : "forged." + i);
            statuses.Add(status);
            limited ??= status == 429 ? response : null;
        }

        // The default allowance: 100 refusals at once; everything after is 429, with no request reaching the proxy.
        Assert.Equal(100, statuses.Count(s => s == 401));
        Assert.Equal(200, statuses.Count(s => s == 429));
        Assert.Contains("Retry-After: 1", limited, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", limited, StringComparison.Ordinal);
        Assert.Empty(proxy.Upstream.Received);

        var events = await broker.AuditEventsAsync();
        Assert.Equal(100, events.Count(e => e.Record.Type == "proxy.denied"));
        var exceeded = Assert.Single(events, e => e.Record.Type == "ratelimit.exceeded");
        Assert.StartsWith("refused requests from 127.0.0.1: more than 100 at once, then 5 per second", exceeded.Record.Reason, StringComparison.Ordinal);

        broker.Time.Advance(TimeSpan.FromMinutes(1));
        var summary = Assert.Single(await broker.AuditEventsAsync(), e => e.Record.Type == "ratelimit.summary");
        Assert.Contains("200 attempts refused", summary.Record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstreams_refusals_of_forwarded_requests_never_count()
    {
        await using var proxy = await ProxyBroker.StartAsync(extraSections: NoDelay);
        var token = await proxy.TokenAsync();

        foreach (var status in new[] { 401, 400 })
        {
            proxy.Upstream.AnswerWith(status);
            for (var i = 0; i < 150; i++)
            {
                Assert.Equal(status, (await proxy.RawAsync("GET", "/proxy/crm/contacts/1", token)).Status);
            }
        }

        Assert.Equal(300, proxy.Upstream.Received.Count);
        Assert.DoesNotContain(await proxy.Broker.AuditEventsAsync(), e => e.Record.Type.StartsWith("ratelimit.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refused_admin_requests_count_and_health_checks_stay_open()
    {
        await using var broker = await StartAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 15; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/agents");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-an-admin-token");
            using var response = await broker.Client.SendAsync(request);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == (HttpStatusCode)429)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.Equal(429, problem.RootElement.GetProperty("status").GetInt32());
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(5, statuses.Count(s => s == (HttpStatusCode)429));
        Assert.Equal(10, (await broker.AuditEventsAsync()).Count(e => e.Record.Type == "admin.denied"));

        // Liveness, readiness, discovery and metrics are never limited.
        foreach (var path in new[] { "/healthz", "/readyz", "/.well-known/jwks.json", "/metrics" })
        {
            using var open = await broker.Client.GetAsync(path);
            Assert.True(open.IsSuccessStatusCode, $"{path}: {(int)open.StatusCode}");
        }

        // The source's allowance comes back with time (2 per second).
        broker.Time.Advance(TimeSpan.FromSeconds(1));
        using var admin = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/agents");
        admin.Headers.Authorization = new AuthenticationHeaderValue("Bearer", broker.AdminToken);
        using var ok = await broker.Client.SendAsync(admin);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task A_flood_of_malformed_oauth_requests_is_recorded_up_to_the_allowance_then_counted()
    {
        await using var broker = await StartAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 15; i++)
        {
            using var content = new StringContent("{\"grant_type\":\"client_credentials\"}", System.Text.Encoding.UTF8, "application/json");
            using var response = await broker.Client.PostAsync(i % 2 == 0 ? "/oauth/token" : "/oauth/revoke", content);
            statuses.Add(response.StatusCode);
        }

        // Each refusal within the allowance is recorded once with its code; beyond it, 429 and one ratelimit event.
        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.BadRequest));
        Assert.Equal(5, statuses.Count(s => s == (HttpStatusCode)429));
        var events = await broker.AuditEventsAsync();
        Assert.Equal(10, events.Count(e => e.Record.ReasonCode == RefusalCodes.FormNotFormEncoded));
        Assert.Single(events, e => e.Record.Type == "ratelimit.exceeded");
    }

    [Fact]
    public async Task Introspection_with_a_wrong_bearer_or_secret_counts_too()
    {
        await using var broker = await StartAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await broker.PostFormAsync("/oauth/introspect", [new("token", "x")], new AuthenticationHeaderValue("Bearer", "not-an-admin-token"));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(10, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(2, statuses.Count(s => s == (HttpStatusCode)429));
        Assert.Equal(10, (await broker.AuditEventsAsync()).Count(e => e.Record.ReasonCode == RefusalCodes.CallerAdminBearerRefused));
        using var limited = await broker.PostFormAsync("/oauth/introspect", [new("token", "x")], TestBroker.Basic("support-agent", TestBroker.SupportSecret));
        await OAuthAssert.ErrorAsync(limited, (HttpStatusCode)429, "slow_down");
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task Successful_requests_are_never_counted_however_fast()
    {
        await using var broker = await StartAsync();

        for (var i = 0; i < 500; i++)
        {
            using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.DoesNotContain(await broker.AuditEventsAsync(), e => e.Record.Type.StartsWith("ratelimit.", StringComparison.Ordinal));
    }

    /// <summary>
    /// Ten attacking sources (127.0.0.11–20, one connection each) send wrong secrets, unknown client
    /// ids, malformed Basic headers and junk form bodies while a legitimate agent issues tokens from
    /// 127.0.0.1, with the production allowances. A count, not a timing: the clock moves only when
    /// the test moves it, 20 seconds at a time while the flood goes on.
    /// </summary>
    [Fact]
    public async Task A_flood_from_ten_sources_leaves_the_legitimate_agent_served_and_the_audit_log_bounded()
    {
        await using var broker = await TestBroker.StartAsync(TestBroker.DefaultYaml(NoDelay), realHttp: true);
        var limits = RateLimitOptions.Default;
        var attackers = Enumerable.Range(11, 10).Select(n => $"127.0.0.{n}").ToArray();
        var clients = attackers.Select(a => BoundClient(broker.Address!, a)).ToArray();
        var legitimate = 0;
        var last = new List<(int Status, string Body)>[attackers.Length];
        for (var i = 0; i < attackers.Length; i++)
        {
            last[i] = [];
        }

        // One round: every attacker sends `perSource` requests on its connection while the agent issues 20 tokens.
        async Task<int[]> RoundAsync(int perSource)
        {
            var passed = new int[attackers.Length];
            var attacks = attackers.Select((_, a) => Task.Run(async () =>
            {
                last[a].Clear();
                for (var i = 0; i < perSource; i++)
                {
                    using var response = await clients[a].SendAsync(Attack(a, i));
                    var status = (int)response.StatusCode;
                    Assert.True(status is 400 or 401 or 429, $"attacker {attackers[a]} got {status}");
                    if (status != 429)
                    {
                        passed[a]++;
                    }

                    if (i >= perSource - 4)
                    {
                        last[a].Add((status, await response.Content.ReadAsStringAsync()));
                    }
                }
            }));
            var agent = Task.Run(async () =>
            {
                for (var i = 0; i < 20; i++)
                {
                    using var response = await broker.ClientCredentialsAsync("support-agent", TestBroker.SupportSecret, ("scope", "crm:read"));
                    await OAuthAssert.TokenAsync(response);
                    legitimate++;
                }
            });
            await Task.WhenAll([.. attacks, agent]);
            return passed;
        }

        // The first clock minute: each source gets through at most its two allowances, then only 429 slow_down.
        var before = (await broker.AuditEventsAsync()).Count;
        var first = await RoundAsync(400);
        var events = await broker.AuditEventsAsync();
        AssertLimitedAtTheEnd();
        Assert.All(first, passed => Assert.InRange(passed, 1, limits.FailedAuthPerSource + limits.RefusalBurst));
        var attackEvents = AttackEvents(events.Skip(before));
        // One event per request let through; the limits' own events are counted per source below.
        var refusals = attackEvents.Where(e => !e.Record.Type.StartsWith("ratelimit.", StringComparison.Ordinal)).ToList();
        Assert.True(first.Sum() == refusals.Count,
            $"{first.Sum()} requests let through, {refusals.Count} events: {string.Join(", ", refusals.GroupBy(e => e.Record.Type).Select(g => $"{g.Key} {g.Count()}"))}");
        AssertPerSource(attackEvents, perSource: limits.FailedAuthPerSource + limits.RefusalBurst + 2);

        // Two more minutes of flood, the clock moved 20 s at a time: per source per minute at most
        // what the allowances give back in a minute, and the limits' own events (one summary each a minute).
        for (var minute = 1; minute <= 2; minute++)
        {
            before = events.Count;
            for (var step = 0; step < 3; step++)
            {
                broker.Time.Advance(TimeSpan.FromSeconds(20));
                await RoundAsync(300);
                AssertLimitedAtTheEnd();
            }

            events = await broker.AuditEventsAsync();
            var added = AttackEvents(events.Skip(before));
            // One summary a minute per limit held: each source's two, the guessed client id's one.
            Assert.InRange(added.Count(e => e.Record.Type == AuditTypes.RateLimitSummary), 1, (2 * attackers.Length) + 1);
            AssertPerSource(added, perSource: limits.FailedAuthPerSource + (limits.RefusalsPerSecond * 60) + 4);
        }

        // Every one of the agent's requests was served, none was counted against it.
        Assert.Equal(20 * 7, legitimate);
        Assert.Equal(legitimate, events.Count(e => e.Record.Type == "token.issued" && e.Record.Agent == "support-agent"));
        Assert.DoesNotContain(events, e => e.Record.Type.StartsWith("ratelimit.", StringComparison.Ordinal)
            && (e.Record.Agent == "support-agent" || e.Record.Reason!.Contains("from 127.0.0.1:", StringComparison.Ordinal)));
        foreach (var client in clients)
        {
            client.Dispose();
        }

        void AssertLimitedAtTheEnd()
        {
            foreach (var (status, body) in last.SelectMany(l => l))
            {
                Assert.True(status == 429, body);
                using var json = JsonDocument.Parse(body);
                Assert.Equal("slow_down", json.RootElement.GetProperty("error").GetString());
            }
        }

        // The audit events the attack caused: everything but the agent's tokens.
        static List<Core.Audit.AuditEvent> AttackEvents(IEnumerable<Core.Audit.AuditEvent> events) =>
            [.. events.Where(e => !(e.Record.Type == "token.issued" && e.Record.Agent == "support-agent") && e.Record.Type != AuditTypes.AuditCheckpoint)];

        // Per source: the ratelimit events name their source; the refusals themselves do not, so their total is
        // bounded by the number of sources times the bound. The expired agent's own client id limit adds its events.
        void AssertPerSource(List<Core.Audit.AuditEvent> added, int perSource)
        {
            foreach (var source in attackers)
            {
                Assert.InRange(added.Count(e => e.Record.Reason?.Contains($"from {source}:", StringComparison.Ordinal) == true), 0, 4);
            }

            var byClientId = added.Count(e => e.Record.Type.StartsWith("ratelimit.", StringComparison.Ordinal) && e.Record.Agent is not null);
            Assert.InRange(byClientId, 0, 2);
            Assert.InRange(added.Count - byClientId, 1, perSource * attackers.Length);
        }
    }

    /// <summary>
    /// The attacker's <paramref name="i"/>th request: every other one a junk form (a refused request),
    /// in between a wrong secret, an unknown client id and a malformed Basic header in turn (failed
    /// client authentications), so that both allowances are used up.
    /// </summary>
    private static HttpRequestMessage Attack(int attacker, int i)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token");
        switch (i % 2 == 1 ? 3 : i / 2 % 3)
        {
            case 0:
                request.Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]);
                request.Headers.Authorization = TestBroker.Basic("expired-agent", $"guess-{attacker}-{i}");
                break;
            case 1:
                request.Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]);
                request.Headers.Authorization = TestBroker.Basic($"nobody-{attacker}-{i}", "guess");
                break;
            case 2:
                request.Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]);
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "%%not-base64%%");
                break;
            default:
                request.Content = new StringContent("grant_type=client_credentials&grant_type=password&\u0000", Encoding.UTF8, "application/x-www-form-urlencoded");
                break;
        }

        return request;
    }

    /// <summary>A client whose connections leave from <paramref name="source"/>: another source to the broker.</summary>
    private static HttpClient BoundClient(Uri broker, string source) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        { BaseAddress = broker };

    [Fact]
    public async Task A_limited_source_does_not_limit_another()
    {
        await using var proxy = await ProxyBroker.StartAsync(extraSections: NoDelay);
        for (var i = 0; i < 120; i++)
        {
            await proxy.RawAsync("GET", "/proxy/crm/contacts/1", token: null);
        }

        // Signed directly: the token endpoint is limited for this source too.
        var token = proxy.SignToken(c => c);
        Assert.Equal(429, (await proxy.RawAsync("GET", "/proxy/crm/contacts/1", token)).Status);

        // The same broker reached from another loopback address is another source.
        using var tcp = new System.Net.Sockets.TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await tcp.ConnectAsync(IPAddress.Loopback, proxy.Broker.Address!.Port);
        await using var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET /proxy/crm/contacts/1 HTTP/1.1\r\nHost: {proxy.Broker.Address.Authority}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync();
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
    }
}
