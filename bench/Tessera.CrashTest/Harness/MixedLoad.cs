using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tessera.CrashTest;

/// <summary>
/// The load the server is killed under: each worker picks, with its own seeded generator, a token
/// issuance, a token exchange (a new mission), a revocation, a secret rotation, an approval (requested,
/// approved and redeemed) or a proxied call, and writes every action Tessera acknowledged into the round's
/// ledger with what identifies its audit event. A request that fails (the server was killed under
/// it) was not acknowledged and is not written.
/// </summary>
internal sealed class MixedLoad(HttpClient http, TesseraSetup setup, TokenPool pool, RoundLedger ledger)
{
    public async Task RunAsync(int workers, int seed, CancellationToken cancellationToken)
    {
        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            // One generator per worker, derived from the run's seed, the kill and the worker.
            var rng = new Random(HashCode.Combine(seed, ledger.Kill, w));
            var prefix = $"k{ledger.Kill}w{w}";
            tasks[w] = Task.Run(() => WorkAsync(rng, prefix, cancellationToken), CancellationToken.None);
        }

        await Task.WhenAll(tasks);
    }

    private async Task WorkAsync(Random rng, string prefix, CancellationToken cancellationToken)
    {
        for (var n = 0; !cancellationToken.IsCancellationRequested; n++)
        {
            var id = $"{prefix}n{n}";
            var pick = rng.Next(100);
            try
            {
                await (pick switch
                {
                    < 25 => IssueAsync(cancellationToken),
                    < 35 => ExchangeAsync(cancellationToken),
                    < 45 => RevokeAsync(rng, cancellationToken),
                    < 50 => RevokeMissionAsync(rng, cancellationToken),
                    < 55 => RotateAsync(id, cancellationToken),
                    < 60 => ApprovalAsync(id, cancellationToken),
                    _ => ProxyAsync(id, rng, cancellationToken),
                });
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                // Killed under this request (or the round ended): never acknowledged.
            }
        }
    }

    private async Task IssueAsync(CancellationToken cancellationToken)
    {
        using var response = await TokenAsync([("grant_type", "client_credentials"), ("scope", "crm:read")], cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (Expect(response, HttpStatusCode.OK, "client_credentials", body))
        {
            var token = AccessToken(body);
            var (jti, _) = TokenPool.ClaimsOf(token);
            ledger.Add(ActionKind.Issued, jti);
            pool.Add(token, jti);
        }
    }

    private async Task ExchangeAsync(CancellationToken cancellationToken)
    {
        using var response = await TokenAsync(
        [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("subject_token", setup.People.Token("alice")),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("resource", "urn:tessera:tool:crm"),
            ("scope", "crm:read"),
        ], cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (Expect(response, HttpStatusCode.OK, "token exchange", body))
        {
            var token = AccessToken(body);
            var (jti, mission) = TokenPool.ClaimsOf(token);
            ledger.Add(ActionKind.Exchanged, jti);
            pool.Add(token, jti, mission);
        }
    }

    private async Task RevokeAsync(Random rng, CancellationToken cancellationToken)
    {
        if (pool.Pick(rng, take: true) is not var (token, jti, _))
        {
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/revoke") { Content = new FormUrlEncodedContent([KeyValuePair.Create("token", token)]) };
        request.Headers.Authorization = setup.AgentAuthorization;
        using var response = await http.SendAsync(request, cancellationToken);
        if (Expect(response, HttpStatusCode.OK, "revoke", ""))
        {
            ledger.Add(ActionKind.Revoked, jti, token);
        }
    }

    private async Task RevokeMissionAsync(Random rng, CancellationToken cancellationToken)
    {
        if (pool.Pick(rng, take: true, ofMission: true) is not var (token, _, mission))
        {
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/revocations")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { kind = "mission", id = mission }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = setup.AdminAuthorization;
        using var response = await http.SendAsync(request, cancellationToken);
        if (Expect(response, HttpStatusCode.OK, "mission revocation", await response.Content.ReadAsStringAsync(cancellationToken)))
        {
            ledger.Add(ActionKind.MissionRevoked, "mission:" + mission, token);
        }
    }

    private async Task RotateAsync(string id, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/secrets/{TesseraSetup.SecretName}/rotate")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { value = "crash-value-" + id }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = setup.AdminAuthorization;
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (Expect(response, HttpStatusCode.OK, "secret rotation", body))
        {
            using var json = JsonDocument.Parse(body);
            var version = json.RootElement.GetProperty("version").GetInt32();
            ledger.Add(ActionKind.SecretRotated, $"{TesseraSetup.SecretName} v{version}");
        }
    }

    private async Task ApprovalAsync(string id, CancellationToken cancellationToken)
    {
        string approval;
        using (var asked = await TokenAsync([("grant_type", "client_credentials"), ("scope", "crm:export"), ("reason", "crash test " + id)], cancellationToken))
        {
            var body = await asked.Content.ReadAsStringAsync(cancellationToken);
            if (!Expect(asked, HttpStatusCode.BadRequest, "approval request", body))
            {
                return;
            }

            using var json = JsonDocument.Parse(body);
            if (json.RootElement.GetProperty("error").GetString() != "approval_required")
            {
                ledger.NoteUnexpected($"approval request: {body}");
                return;
            }

            approval = json.RootElement.GetProperty("auth_req_id").GetString()!;
            ledger.Undecided[approval] = true;
            ledger.Add(ActionKind.ApprovalRequested, approval);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{approval}/approve");
        request.Headers.Authorization = setup.Approver;
        using var response = await http.SendAsync(request, cancellationToken);
        if (!Expect(response, HttpStatusCode.OK, "approve", await response.Content.ReadAsStringAsync(cancellationToken)))
        {
            return;
        }

        ledger.Undecided.TryRemove(approval, out _);
        ledger.Add(ActionKind.ApprovalApproved, approval);

        // The agent redeems it: its one token.
        using var redeemed = await TokenAsync([("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", approval)], cancellationToken);
        var token = await redeemed.Content.ReadAsStringAsync(cancellationToken);
        if (Expect(redeemed, HttpStatusCode.OK, "approval redemption", token))
        {
            ledger.Add(ActionKind.ApprovalRedeemed, TokenPool.ClaimsOf(AccessToken(token)).Jti, approval: approval);
        }
    }

    private async Task ProxyAsync(string id, Random rng, CancellationToken cancellationToken)
    {
        if (pool.Pick(rng, take: false) is not var (token, _, _))
        {
            await IssueAsync(cancellationToken);
            return;
        }

        var path = "/contacts/" + id;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/proxy/crm" + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            ledger.Add(ActionKind.Proxied, path);
        }
        else if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            // 401: another worker revoked the token a moment ago, which is the load working as meant.
            ledger.NoteUnexpected($"proxy: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private async Task<HttpResponseMessage> TokenAsync((string, string)[] form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = setup.AgentAuthorization;
        return await http.SendAsync(request, cancellationToken);
    }

    private bool Expect(HttpResponseMessage response, HttpStatusCode expected, string what, string body)
    {
        if (response.StatusCode == expected)
        {
            return true;
        }

        ledger.NoteUnexpected($"{what}: {(int)response.StatusCode} {body}");
        return false;
    }

    private static string AccessToken(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("access_token").GetString()!;
    }
}
