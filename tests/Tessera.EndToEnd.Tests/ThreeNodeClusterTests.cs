using System.Buffers.Text;
using System.Diagnostics;
using Node = Tessera.EndToEnd.Tests.ThreeNodes.Node;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// What one installation of three <c>tessera serve</c> processes on one PostgreSQL database
/// guarantees (docs/operations.md): a DPoP proof or client assertion spent at one node is refused at
/// the others, <c>max_uses</c> counts across nodes, an approval asked through one node is listed,
/// decided and redeemed through any, and a key rotated through one node is used and accepted by all.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // real processes; a developer's fast set leaves them out (README.md)
[Collection(PostgresCollection.Name)]
public sealed class ThreeNodeClusterTests(ThreeNodes nodes) : IClassFixture<ThreeNodes>
{
    private const string TokenEndpoint = ThreeNodes.Issuer + "/oauth/token";
    private const string JwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>How long propagation may take before a test fails: far above max_staleness (1 s), only to fail a broken build.</summary>
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_dpop_proof_accepted_by_one_node_is_refused_when_replayed_at_the_others()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var proof = Proof(key, "POST", TokenEndpoint);
        using (var accepted = await TokenRequestAsync(nodes.A, Basic("support-agent"), proof, ("grant_type", "client_credentials"), ("scope", "crm:read")))
        {
            var body = await accepted.Content.ReadAsStringAsync(Ct);
            Assert.True(accepted.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal("DPoP", JsonDocument.Parse(body).RootElement.GetProperty("token_type").GetString());
        }

        foreach (var node in new[] { nodes.B, nodes.C })
        {
            using var replayed = await TokenRequestAsync(node, Basic("support-agent"), proof, ("grant_type", "client_credentials"), ("scope", "crm:read"));
            var body = await replayed.Content.ReadAsStringAsync(Ct);
            Assert.True(replayed.StatusCode == HttpStatusCode.BadRequest, $"{node.Id}: {(int)replayed.StatusCode} {body}");
            Assert.Equal("invalid_dpop_proof", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
            await AuditedAsync(node, "token.denied", "dpop.invalid_proof", "already used");
        }

        // At the proxy too: a proof for one request, forwarded by A, is refused by B and C.
        var token = await DpopTokenAsync(nodes.A, key);
        var uri = ThreeNodes.Issuer + "/proxy/crm/contacts/1";
        var proxyProof = Proof(key, "GET", uri, token);
        using (var forwarded = await ProxyAsync(nodes.A, "/proxy/crm/contacts/1", "DPoP", token, proxyProof))
        {
            Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        }

        foreach (var node in new[] { nodes.B, nodes.C })
        {
            using var replayed = await ProxyAsync(node, "/proxy/crm/contacts/1", "DPoP", token, proxyProof);
            Assert.True(replayed.StatusCode == HttpStatusCode.Unauthorized, $"{node.Id}: {(int)replayed.StatusCode}");
            Assert.Contains("invalid_dpop_proof", string.Join(' ', replayed.Headers.WwwAuthenticate), StringComparison.Ordinal);
            await AuditedAsync(node, "proxy.denied", "proxy.dpop_invalid_proof", "already used");
        }
    }

    [Fact]
    public async Task A_client_assertion_used_at_one_node_is_refused_at_the_others()
    {
        var assertion = nodes.ClientAssertion();
        using (var accepted = await AssertionRequestAsync(nodes.A, assertion))
        {
            Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync(Ct));
        }

        foreach (var node in new[] { nodes.B, nodes.C })
        {
            using var replayed = await AssertionRequestAsync(node, assertion);
            var body = await replayed.Content.ReadAsStringAsync(Ct);
            Assert.True(replayed.StatusCode == HttpStatusCode.Unauthorized, $"{node.Id}: {(int)replayed.StatusCode} {body}");
            Assert.Equal("invalid_client", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
            await AuditedAsync(node, "token.denied", "client_assertion.replayed", "replayed");
        }
    }

    [Fact]
    public async Task Max_uses_count_across_nodes()
    {
        // An approval-issued token for crm:export carries max_uses 3 (the scope's approval).
        var id = await AskAsync(nodes.A);
        using (var approved = await DecideAsync(nodes.A, id, "approve"))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        }

        var token = await RedeemAsync(nodes.A, id);
        Assert.Equal(3, Claims(token).GetProperty("max_uses").GetInt32());

        var before = nodes.UpstreamRequests;
        foreach (var node in new[] { nodes.A, nodes.B, nodes.A })
        {
            using var forwarded = await ProxyAsync(node, "/proxy/crm/exports/1", "Bearer", token);
            Assert.True(forwarded.StatusCode == HttpStatusCode.OK, $"{node.Id}: {(int)forwarded.StatusCode}");
        }

        foreach (var node in new[] { nodes.B, nodes.A, nodes.C })
        {
            using var spent = await ProxyAsync(node, "/proxy/crm/exports/1", "Bearer", token);
            Assert.True(spent.StatusCode == HttpStatusCode.Forbidden, $"{node.Id}: {(int)spent.StatusCode}");
            await AuditedAsync(node, "proxy.denied", "proxy.uses_spent", null);
        }

        Assert.Equal(3, nodes.UpstreamRequests - before);
    }

    [Fact]
    public async Task An_approval_asked_through_one_node_is_listed_decided_and_redeemed_through_the_others_once()
    {
        var id = await AskAsync(nodes.A);

        // Listed at B and C (propagated through the change log), approved through C.
        await ListedAsync(nodes.B, id, "pending");
        await ListedAsync(nodes.C, id, "pending");
        using (var approved = await DecideAsync(nodes.C, id, "approve"))
        {
            var body = await approved.Content.ReadAsStringAsync(Ct);
            Assert.True(approved.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal("approved", JsonDocument.Parse(body).RootElement.GetProperty("status").GetString());
        }

        // The agent polls the node it asked: the token, once A has applied C's decision.
        var token = await RedeemAsync(nodes.A, id);
        Assert.Equal("crm:export", Claims(token).GetProperty("scope").GetString());

        // One approval, one token: B answers invalid_grant (redeemed), never a second token.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var again = await PollAsync(nodes.B, id);
            var body = await again.Content.ReadAsStringAsync(Ct);
            Assert.True(again.StatusCode != HttpStatusCode.OK, $"node-b issued a second token for one approval: {body}");
            if (again.StatusCode == HttpStatusCode.BadRequest && JsonDocument.Parse(body).RootElement.GetProperty("error").GetString() == "invalid_grant")
            {
                break;
            }

            Assert.True(clock.Elapsed < Propagation, $"node-b still answers {(int)again.StatusCode} {body} {Propagation.TotalSeconds} s after node-a redeemed");
        }

        await ListedAsync(nodes.B, id, "redeemed");
    }

    [Fact]
    public async Task A_key_rotated_through_one_node_signs_there_and_at_the_others_and_every_node_accepts_it()
    {
        using var rotate = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/keys/rotate");
        rotate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", nodes.A.AdminToken);
        using var rotated = await nodes.A.Http.SendAsync(rotate, Ct);
        var rotatedBody = await rotated.Content.ReadAsStringAsync(Ct);
        Assert.True(rotated.StatusCode == HttpStatusCode.OK, rotatedBody);
        var kid = JsonDocument.Parse(rotatedBody).RootElement.GetProperty("kid").GetString()!;

        // Every node publishes it (B and C once they applied the change).
        foreach (var node in nodes.All)
        {
            await UntilAsync(node, async () => (await node.Http.GetStringAsync("/.well-known/jwks.json", Ct)).Contains($"\"{kid}\"", StringComparison.Ordinal),
                $"publishes key {kid}");
        }

        // A signs with it once it activates (publish_ahead: 1 s); B and C accept what A signed.
        var token = "";
        await UntilAsync(nodes.A, async () => KeyId(token = await BearerTokenAsync(nodes.A)) == kid, $"signs with key {kid}");
        foreach (var node in new[] { nodes.B, nodes.C })
        {
            Assert.True(await IsActiveAsync(node, token), $"{node.Id} does not accept a token signed by node-a with the new key");
            using var forwarded = await ProxyAsync(node, "/proxy/crm/contacts/1", "Bearer", token);
            Assert.True(forwarded.StatusCode == HttpStatusCode.OK, $"{node.Id}: {(int)forwarded.StatusCode}");
        }

        // B and C sign with it too (it is already active), and A accepts theirs.
        foreach (var node in new[] { nodes.B, nodes.C })
        {
            var theirs = await BearerTokenAsync(node);
            Assert.Equal(kid, KeyId(theirs));
            Assert.True(await IsActiveAsync(nodes.A, theirs));
        }
    }

    /// <summary>Asks <paramref name="node"/> until <paramref name="condition"/> holds, each question a real round trip, failing after <see cref="Propagation"/>.</summary>
    private static async Task UntilAsync(Node node, Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < Propagation, $"{node.Id} still not: {what} after {Propagation.TotalSeconds} s");
        }
    }

    /// <summary>The node's own audit log holds a <paramref name="type"/> event with <paramref name="reasonCode"/> (refusals are written in the background).</summary>
    private static Task AuditedAsync(Node node, string type, string reasonCode, string? reasonContains) =>
        UntilAsync(node, async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/admin/v1/audit?type={type}&limit=10000");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", node.AdminToken);
            using var response = await node.Http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            return json.RootElement.GetProperty("events").EnumerateArray().Any(e =>
                e.TryGetProperty("reason_code", out var code) && code.GetString() == reasonCode &&
                (reasonContains is null || (e.TryGetProperty("reason", out var reason) && reason.GetString()!.Contains(reasonContains, StringComparison.Ordinal))));
        }, $"audited {type} {reasonCode}");

    private Task ListedAsync(Node node, string id, string status) =>
        UntilAsync(node, async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/admin/v1/approvals?status={status}");
            using var response = await SendAsApproverAsync(node, request);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            return JsonDocument.Parse(body).RootElement.GetProperty("approvals").EnumerateArray().Any(a => a.GetProperty("id").GetString() == id);
        }, $"lists approval {id} as {status}");

    private Task<HttpResponseMessage> SendAsApproverAsync(Node node, HttpRequestMessage request)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", nodes.ApproverToken("bob"));
        return node.Http.SendAsync(request, Ct);
    }

    private Task<HttpResponseMessage> DecideAsync(Node node, string id, string decision)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/approvals/{id}/{decision}")
        {
            Content = new StringContent("""{"comment":"verified"}""", Encoding.UTF8, "application/json"),
        };
        return SendAsApproverAsync(node, request);
    }

    /// <summary>support-agent asks <paramref name="node"/> for the gated crm:export: approval_required and the auth_req_id.</summary>
    private static async Task<string> AskAsync(Node node)
    {
        using var response = await TokenRequestAsync(node, Basic("support-agent"), null,
            ("grant_type", "client_credentials"), ("scope", "crm:export"), ("reason", "customer 4711 asked for their data"));
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("approval_required", json.GetProperty("error").GetString());
        return json.GetProperty("auth_req_id").GetString()!;
    }

    /// <summary>Polls <paramref name="node"/> until the approved request yields its token (pending or slow_down while the decision propagates).</summary>
    private static async Task<string> RedeemAsync(Node node, string id)
    {
        var token = "";
        await UntilAsync(node, async () =>
        {
            using var poll = await PollAsync(node, id);
            var body = await poll.Content.ReadAsStringAsync(Ct);
            if (poll.StatusCode == HttpStatusCode.OK)
            {
                token = JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
                return true;
            }

            Assert.True(poll.StatusCode == HttpStatusCode.BadRequest, body);
            Assert.Contains(JsonDocument.Parse(body).RootElement.GetProperty("error").GetString(), new[] { "authorization_pending", "slow_down" });
            return false;
        }, $"redeems approval {id}");
        return token;
    }

    private static Task<HttpResponseMessage> PollAsync(Node node, string id) =>
        TokenRequestAsync(node, Basic("support-agent"), null, ("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", id));

    private static Task<HttpResponseMessage> AssertionRequestAsync(Node node, string assertion) =>
        TokenRequestAsync(node, null, null, ("grant_type", "client_credentials"), ("scope", "crm:read"),
            ("client_assertion_type", JwtBearer), ("client_assertion", assertion));

    private static async Task<string> BearerTokenAsync(Node node)
    {
        using var response = await TokenRequestAsync(node, Basic("support-agent"), null, ("grant_type", "client_credentials"), ("scope", "crm:read"));
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    private static async Task<string> DpopTokenAsync(Node node, ECDsa key)
    {
        using var response = await TokenRequestAsync(node, Basic("support-agent"), Proof(key, "POST", TokenEndpoint), ("grant_type", "client_credentials"), ("scope", "crm:read"));
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    private static async Task<bool> IsActiveAsync(Node node, string token)
    {
        using var response = await TokenRequestAsync(node, Basic("support-agent"), null, ("token", token), path: "/oauth/introspect");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    private static Task<HttpResponseMessage> TokenRequestAsync(Node node, AuthenticationHeaderValue? auth, string? dpop, params (string, string)[] form) =>
        TokenRequestAsync(node, auth, dpop, form, "/oauth/token");

    private static Task<HttpResponseMessage> TokenRequestAsync(Node node, AuthenticationHeaderValue? auth, string? dpop, (string, string) field, string path) =>
        TokenRequestAsync(node, auth, dpop, [field], path);

    private static async Task<HttpResponseMessage> TokenRequestAsync(Node node, AuthenticationHeaderValue? auth, string? dpop, (string, string)[] form, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Item1, f.Item2))),
        };
        request.Headers.Authorization = auth;
        if (dpop is not null)
        {
            request.Headers.Add("DPoP", dpop);
        }

        return await node.Http.SendAsync(request, Ct);
    }

    private static async Task<HttpResponseMessage> ProxyAsync(Node node, string path, string scheme, string token, string? proof = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
        if (proof is not null)
        {
            request.Headers.Add("DPoP", proof);
        }

        return await node.Http.SendAsync(request, Ct);
    }

    private static AuthenticationHeaderValue Basic(string client) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{ThreeNodes.AgentSecret}")));

    /// <summary>A DPoP proof (RFC 9449) by <paramref name="key"/> for <paramref name="method"/> <paramref name="htu"/>, with <c>ath</c> when given a token.</summary>
    private static string Proof(ECDsa key, string method, string htu, string? accessToken = null)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        var header = new { typ = "dpop+jwt", alg = "ES256", jwk = new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y) } };
        var iat = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var jti = Guid.NewGuid().ToString("N");
        var signingInput = ThreeNodes.Encode(header) + "." + (accessToken is null
            ? ThreeNodes.Encode(new { jti, htm = method, htu, iat })
            : ThreeNodes.Encode(new { jti, htm = method, htu, iat, ath = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken))) }));
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static JsonElement Claims(string token) => JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1])).RootElement;

    private static string? KeyId(string token) => JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[0])).RootElement.GetProperty("kid").GetString();
}
