using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tessera.CrashTest;

/// <summary>
/// Kills a real <c>tessera serve</c> with SIGKILL at random moments under a mixed load, restarts it
/// each time, and checks after each restart that what was acknowledged before the kill survived:
/// <list type="number">
/// <item>every acknowledged revocation still holds (introspection says inactive; the proxy refuses the token);</item>
/// <item>every acknowledged action has its audit event (by <c>jti</c>, approval id, secret version, proxied path);</item>
/// <item>every request the upstream received has its <c>proxy.forwarded</c> event;</item>
/// <item><c>tessera audit verify</c> passes on what the killed process left;</item>
/// <item>the server is ready again (<c>/readyz</c> 200) within <see cref="CrashOptions.ReadyBound"/>;</item>
/// </list>
/// and, beyond the events: the current secret version is at least the last one acknowledged, and an
/// acknowledged approval decision is not pending again, and a redeemed approval yields no second token. The kill moments and every worker's choices
/// come from <see cref="CrashOptions.Seed"/>; the interleaving of workers and server is the machine's.
/// </summary>
internal static class CrashHarness
{
    /// <summary>Events of a round are read from this long before the harness started its server (clock granularity only: same machine, same clock).</summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    /// <summary>Revocations of earlier rounds re-checked after each restart, besides all of the last round's.</summary>
    private const int EarlierRevocationsRechecked = 10;

    /// <summary>What <see cref="CrashOptions.PlantUnrecordedActions"/> adds: no event can carry them.</summary>
    public const string PlantedJti = "planted-jti-never-issued";

    public const string PlantedPath = "/contacts/planted-never-forwarded";

    public static async Task<CrashReport> RunAsync(CrashOptions options, CancellationToken cancellationToken)
    {
        var report = new CrashReport(options);
        var watch = Stopwatch.StartNew();
        using var upstream = new RecordingUpstream();
        using var setup = new TesseraSetup(options, upstream.Port);
        var kills = new Random(options.Seed);
        var pool = new TokenPool();
        var revoked = new List<Acknowledged>();
        var latestVersion = 1;
        (RoundLedger Ledger, List<string> Received, TimeSpan Uptime)? last = null;
        options.Log($"crash test: storage {options.StorageName}, seed {options.Seed}, {options.Kills} kills, directory {setup.Directory}");

        for (var start = 0; start <= options.Kills; start++)
        {
            var startedAt = TimeProvider.System.GetUtcNow();
            using var http = new HttpClient { BaseAddress = setup.Address, Timeout = TimeSpan.FromSeconds(30) };
            using var server = ServeProcess.Start(options.TesseraDll, setup.Directory, "serve");
            var ready = await server.WaitReadyAsync(http, options.ReadyBound, cancellationToken);
            if (ready is null)
            {
                report.Violations.Add(new Violation(start, $"not ready within {options.ReadyBound.TotalSeconds:0} s after the restart (exited: {server.HasExited}); its output:\n{server.Tail}"));
                break;
            }

            setup.ReadAdminToken();
            if (last is { } round)
            {
                report.ReadyTimes.Add(ready.Value);
                var before = report.Violations.Count;
                latestVersion = await CheckAsync(http, setup, round.Ledger, round.Received, revoked, latestVersion, report, cancellationToken);
                var counts = round.Ledger.Acknowledged.GroupBy(a => a.Kind).ToDictionary(g => g.Key, g => g.Count());
                options.Log(string.Create(CultureInfo.InvariantCulture,
                    $"kill {round.Ledger.Kill}/{options.Kills} after {round.Uptime.TotalSeconds:0.00} s: acknowledged {round.Ledger.Acknowledged.Count} " +
                    $"({string.Join(", ", counts.Select(c => $"{c.Key} {c.Value}"))}), upstream received {round.Received.Count}; " +
                    $"ready again in {ready.Value.TotalSeconds:0.00} s; violations {report.Violations.Count - before}"));
                foreach (var v in report.Violations.Skip(before))
                {
                    options.Log("  VIOLATION " + v);
                }

                foreach (var u in round.Ledger.Unexpected)
                {
                    options.Log("  unexpected answer: " + u);
                }
            }
            else
            {
                await PutFirstSecretAsync(http, setup, cancellationToken);
            }

            if (start == options.Kills)
            {
                break;
            }

            var ledger = new RoundLedger(start + 1, startedAt);
            using var stop = new CancellationTokenSource();
            var load = new MixedLoad(http, setup, pool, ledger).RunAsync(options.Workers, options.Seed, stop.Token);

            // The random moment of the kill is the point of the harness: the load runs this long, then SIGKILL.
            var uptime = options.MinUptime + ((options.MaxUptime - options.MinUptime) * kills.NextDouble());
            await Task.Delay(uptime, TimeProvider.System, cancellationToken);
            server.Kill();
            await stop.CancelAsync();
            await load;
            report.Kills++;
            var received = upstream.Drain();
            if (options.PlantUnrecordedActions && ledger.Kill == 1)
            {
                ledger.Add(ActionKind.Issued, PlantedJti);
                received.Add(PlantedPath);
            }

            report.UpstreamReceived += received.Count;
            report.Unexpected += ledger.UnexpectedCount;
            foreach (var a in ledger.Acknowledged)
            {
                report.Acknowledged[a.Kind]++;
            }

            // What the killed process left must verify before anything touches it again.
            var (code, output) = await ServeProcess.RunAsync(options.TesseraDll, setup.Directory, "audit", "verify");
            if (code != 0)
            {
                report.Violations.Add(new Violation(ledger.Kill, $"tessera audit verify exited {code} after the kill:\n{output}"));
            }

            last = (ledger, received, uptime);
        }

        report.Elapsed = watch.Elapsed;
        if (report.Violations.Count > 0)
        {
            report.KeptDirectory = setup.Directory;
        }
        else
        {
            Directory.Delete(setup.Directory, recursive: true);
        }

        return report;
    }

    private static async Task PutFirstSecretAsync(HttpClient http, TesseraSetup setup, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/admin/v1/secrets/{TesseraSetup.SecretName}")
        {
            Content = new StringContent("""{"value": "crash-value-first"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = setup.AdminAuthorization;
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"storing the tool's secret answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>Checks, on the restarted server, what the round before the kill acknowledged; returns the latest secret version acknowledged so far.</summary>
    private static async Task<int> CheckAsync(HttpClient http, TesseraSetup setup, RoundLedger ledger, List<string> received, List<Acknowledged> revoked, int latestVersion, CrashReport report, CancellationToken cancellationToken)
    {
        void Violated(string what) => report.Violations.Add(new Violation(ledger.Kill, what));

        // 2 and 3: every acknowledged action and every request the upstream received has its event.
        var events = await AuditIndex.ReadAsync(http, setup.AdminAuthorization, ledger.StartedAt - Margin, cancellationToken);
        foreach (var a in ledger.Acknowledged)
        {
            if (!events.Contains(a.EventType, a.Id))
            {
                Violated($"{a.Kind} {a.Id} was acknowledged before the kill, but no {a.EventType} event records it");
            }
        }

        foreach (var path in received)
        {
            if (!events.Contains("proxy.forwarded", path))
            {
                Violated($"the upstream received GET {path}, but no proxy.forwarded event records it");
            }
        }

        // 1: every revocation acknowledged before the kill still holds: this round's, and some of earlier rounds'.
        var thisRound = ledger.Acknowledged.Where(a => a.Kind is ActionKind.Revoked or ActionKind.MissionRevoked).ToList();
        var earlier = revoked.Count <= EarlierRevocationsRechecked ? revoked : revoked.Skip(revoked.Count - EarlierRevocationsRechecked).ToList();
        foreach (var a in thisRound.Concat(earlier))
        {
            report.RevocationsRechecked++;
            if (await IsActiveAsync(http, setup, a.Token!, cancellationToken))
            {
                Violated($"{a.Kind} {a.Id} was acknowledged before kill {ledger.Kill}, but introspection says it is active after the restart");
            }

            using var proxied = new HttpRequestMessage(HttpMethod.Get, $"/proxy/crm/contacts/revoked-{a.Id.Replace(':', '-')}");
            proxied.Headers.Authorization = new AuthenticationHeaderValue("Bearer", a.Token);
            using var answer = await http.SendAsync(proxied, cancellationToken);
            if (answer.StatusCode != HttpStatusCode.Unauthorized)
            {
                Violated($"{a.Kind} {a.Id} was acknowledged before kill {ledger.Kill}, but the proxy answered {(int)answer.StatusCode} instead of 401 after the restart");
            }
        }

        revoked.AddRange(thisRound);

        // A rotation acknowledged is the current version or an older one of a newer current.
        foreach (var a in ledger.Acknowledged.Where(a => a.Kind == ActionKind.SecretRotated))
        {
            latestVersion = Math.Max(latestVersion, int.Parse(a.Id.AsSpan(a.Id.LastIndexOf('v') + 1), CultureInfo.InvariantCulture));
        }

        using (var secrets = await GetJsonAsync(http, setup, "/admin/v1/secrets", cancellationToken))
        {
            var current = secrets.RootElement.GetProperty("secrets").EnumerateArray()
                .Where(s => s.GetProperty("name").GetString() == TesseraSetup.SecretName)
                .Select(s => s.GetProperty("version").GetInt32())
                .DefaultIfEmpty(0)
                .Single();
            if (current < latestVersion)
            {
                Violated($"secret {TesseraSetup.SecretName} v{latestVersion} was acknowledged, but after the restart the current version is v{current}");
            }
        }

        // An acknowledged request is still known, an acknowledged approval is not pending (or denied) again.
        using (var approvals = await GetJsonAsync(http, setup, "/admin/v1/approvals", cancellationToken))
        {
            var status = approvals.RootElement.GetProperty("approvals").EnumerateArray()
                .ToDictionary(a => a.GetProperty("id").GetString()!, a => a.GetProperty("status").GetString()!, StringComparer.Ordinal);
            foreach (var a in ledger.Acknowledged.Where(a => a.Kind is ActionKind.ApprovalRequested or ActionKind.ApprovalApproved))
            {
                if (!status.TryGetValue(a.Id, out var s))
                {
                    Violated($"approval {a.Id} was acknowledged ({a.Kind}) before the kill, but the restarted server does not list it");
                }
                else if (a.Kind == ActionKind.ApprovalApproved && s is "pending" or "denied")
                {
                    Violated($"approval {a.Id} was approved (acknowledged) before the kill, but after the restart it is {s}");
                }
            }

            // An approval yields one token, also across a crash: a redeemed one stays redeemed, and a second poll gets nothing.
            foreach (var a in ledger.Acknowledged.Where(a => a.Kind == ActionKind.ApprovalRedeemed))
            {
                if (status.GetValueOrDefault(a.Approval!) != "redeemed")
                {
                    Violated($"approval {a.Approval} was redeemed (token {a.Id} acknowledged) before the kill, but after the restart it is {status.GetValueOrDefault(a.Approval!) ?? "not listed"}");
                }

                using var poll = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
                {
                    Content = new FormUrlEncodedContent([KeyValuePair.Create("grant_type", "urn:openid:params:grant-type:ciba"), KeyValuePair.Create("auth_req_id", a.Approval!)]),
                };
                poll.Headers.Authorization = setup.AgentAuthorization;
                using var again = await http.SendAsync(poll, cancellationToken);
                if (again.IsSuccessStatusCode)
                {
                    Violated($"approval {a.Approval} was redeemed (token {a.Id} acknowledged) before the kill, but after the restart a poll got a second token");
                }
            }
        }

        // Requests the kill left undecided are denied, so they never fill the agent's pending allowance.
        foreach (var id in ledger.Undecided.Keys)
        {
            using var deny = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{id}/deny");
            deny.Headers.Authorization = setup.Approver;
            using var _ = await http.SendAsync(deny, cancellationToken);
        }

        return latestVersion;
    }

    private static async Task<bool> IsActiveAsync(HttpClient http, TesseraSetup setup, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/introspect") { Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token)]) };
        request.Headers.Authorization = setup.AgentAuthorization;
        using var response = await http.SendAsync(request, cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return !json.RootElement.TryGetProperty("active", out var active) || active.GetBoolean();
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient http, TesseraSetup setup, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = setup.AdminAuthorization;
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(body)
            : throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {body}");
    }
}
