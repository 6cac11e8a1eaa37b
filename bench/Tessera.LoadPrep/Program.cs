using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

// Usage:
//   config DIR PORT [UPSTREAM [WORKING_UPSTREAM [MCP_UPSTREAM]]]
//                                   write DIR/tessera.yaml, the agent's and the IdP's keys, the secret;
//                                   tool crm proxies to UPSTREAM, tool crmwork to WORKING_UPSTREAM (an upstream
//                                   that takes a few ms), both with the vault secret crm-key in X-Api-Key;
//                                   MCP tool issues to the endpoint MCP_UPSTREAM with the vault secret
//                                   issues-key as "Authorization: Bearer {secret}"
//   assertions DIR ISSUER COUNT     COUNT private_key_jwt assertions, one per line, valid 10 minutes
//   principal DIR                   a principal JWT for alice from the benchmark IdP
//   tokens DIR ADDR COUNT           COUNT access tokens from the running broker (for revocation)
//   dpop DIR ADDR COUNT [WARM]      a P-256 key, a DPoP-bound crm:read token from the running broker
//                                   (DIR/dpop-token.txt), and COUNT proofs for GET ADDR/proxy/crm/contacts/42
//                                   (DIR/dpop-proofs.txt; WARM more in DIR/dpop-warm-proofs.txt), one per
//                                   line, each with its own jti, iat now and ath of the token
//   fill DIR EVENTS REVOCATIONS [AGENTS | CONNECTION NODE]
//                                   append EVENTS audit events and REVOCATIONS revoked ids to DIR/data/tessera.db, or with
//                                   CONNECTION (an Npgsql connection string) and NODE to that node's chain on PostgreSQL
//                                   (server stopped); with AGENTS, the token events are spread over agent-0000.. and
//                                   their scopes (posture)
//   posture-config DIR PORT AGENTS  write DIR/tessera.yaml with AGENTS agents over 20 tools (bench/posture/run.sh)
//   flood ADDR SECONDS SOURCES FIRST
//                                   SOURCES attackers, each one connection from its own loopback address (127.0.0.FIRST,
//                                   FIRST+1, ..), send client_credentials with a wrong secret for a client id nobody has
//                                   (never bench-agent's: its own allowance would lock it out, by design) to
//                                   ADDR/oauth/token back to back for SECONDS; prints "REQUESTS CPU-SECONDS STATUS=COUNT,.."
const string Secret = "load-secret-0123456789abcdefghijklmnopqrstuv";
var dir = args.Length > 1 ? args[1] : ".";
switch (args.FirstOrDefault())
{
    case "config":
        Directory.CreateDirectory(dir);
        var port = args[2];
        var upstream = args.Length > 3 ? args[3] : "http://127.0.0.1:18082";
        var workingUpstream = args.Length > 4 ? args[4] : "http://127.0.0.1:18083";
        var mcpUpstream = args.Length > 5 ? args[5] : "http://127.0.0.1:18084/mcp";
        var agentKey = NewKey(dir, "agent");
        var idpKey = NewKey(dir, "idp");
        File.WriteAllText(Path.Combine(dir, "agent.jwks.json"), Jwks(agentKey));
        File.WriteAllText(Path.Combine(dir, "idp.jwks.json"), Jwks(idpKey));
        File.WriteAllText(Path.Combine(dir, "secret"), Secret);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Secret)));
        File.WriteAllText(Path.Combine(dir, "tessera.yaml"), $$"""
            server: { listen: "http://127.0.0.1:{{port}}" }
            storage: sqlite:data/tessera.db
            data_dir: data
            tokens: { default_ttl: 10m, max_ttl: 1h, max_delegation_depth: 3 }
            identity_providers:
              - { id: corp, issuer: "https://idp.bench", jwks_file: idp.jwks.json, audience: tessera }
            principals:
              - { idp: corp, sub: alice, scopes: [ "crm:read", "crm:export" ] }
            tools:
              - id: crm
                upstream: "{{upstream}}"
                credential: { secret: crm-key, header: X-Api-Key }
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "POST /exports" ] }
              - id: crmwork
                upstream: "{{workingUpstream}}"
                credential: { secret: crm-key, header: X-Api-Key }
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
              - id: issues
                protocol: mcp
                upstream: "{{mcpUpstream}}"
                credential: { secret: issues-key, header: Authorization, format: "Bearer {secret}" }
                scopes:
                  read: { rules: [ "MCP tools/list", "MCP tools/call get_issue", "MCP tools/call search_*" ] }
            agents:
              - id: bench-agent
                owner: bench@example.com
                purpose: load test
                expires: {{TimeProvider.System.GetUtcNow().AddMonths(6):yyyy-MM-dd}}
                auth: { client_secret_sha256: {{hash}}, jwks_file: agent.jwks.json }
                allowed_scopes: [ "crm:read", "crm:export", "crmwork:read", "issues:read" ]
                max_ttl: 10m
            """);
        break;
    case "assertions":
        var issuer = args[2];
        var count = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        var key = LoadKey(dir, "agent");
        var handler = new JsonWebTokenHandler();
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        using (var output = new StreamWriter(Path.Combine(dir, "assertions.txt")))
        {
            for (var i = 0; i < count; i++)
            {
                output.WriteLine(handler.CreateToken(new SecurityTokenDescriptor
                {
                    Issuer = "bench-agent",
                    Audience = issuer + "/oauth/token",
                    Claims = new Dictionary<string, object> { ["sub"] = "bench-agent", ["jti"] = Guid.NewGuid().ToString("N") },
                    IssuedAt = now,
                    Expires = now.AddMinutes(5),
                    SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
                }));
            }
        }

        break;
    case "principal":
        var idp = LoadKey(dir, "idp");
        Console.WriteLine(new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://idp.bench",
            Audience = "tessera",
            Claims = new Dictionary<string, object> { ["sub"] = "alice", ["scope"] = "crm:read crm:export" },
            Expires = TimeProvider.System.GetUtcNow().UtcDateTime.AddHours(1),
            SigningCredentials = new SigningCredentials(idp, SecurityAlgorithms.EcdsaSha256),
        }));
        break;
    case "tokens":
        var addr = args[2];
        var n = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        using (var http = new HttpClient { BaseAddress = new Uri(addr) })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("bench-agent:" + Secret)));
            var tokens = new string[n];
            await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
            {
                using var response = await http.PostAsync("/oauth/token", new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]), ct);
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                tokens[i] = json.RootElement.GetProperty("access_token").GetString()!;
            });
            File.WriteAllLines(Path.Combine(dir, "tokens.txt"), tokens);
        }

        break;
    case "dpop":
        await Dpop(dir, args[2].TrimEnd('/'), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture),
            args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 0);
        break;
    case "flood":
        await Flood(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
        break;
    case "posture-config":
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tessera.yaml"), PostureConfig(args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)));
        break;
    case "fill":
        var events = long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        var revocations = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        var spread = args.Length == 5 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 0;
        // With a fifth and sixth argument the events go to that PostgreSQL database, into the chain of that node.
        await using (Tessera.Core.Storage.ITesseraStore store = args.Length > 5
            ? new Tessera.Storage.Postgres.PostgresTesseraStore(args[4], args[5])
            : new Tessera.Storage.Sqlite.SqliteTesseraStore(Path.Combine(dir, "data", "tessera.db")))
        {
            await store.MigrateAsync(CancellationToken.None);
            await using var audit = new Tessera.Core.Audit.AuditLog(store.Audit, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Tessera.Core.Audit.AuditLog>.Instance);
            await audit.StartAsync(CancellationToken.None);
            var pending = new List<Task>(4096);
            var revokedAt = TimeProvider.System.GetUtcNow();
            for (long i = 0; i < events + revocations; i++)
            {
                var (agent, tool) = spread > 0 ? ($"agent-{i % spread:D4}", $"tool{i % spread % 20:D2}") : ("bench-agent", "crm");
                var record = new Tessera.Core.Audit.AuditRecord
                {
                    Type = i < revocations ? "token.revoked" : "token.issued",
                    Outcome = "allowed",
                    Agent = agent,
                    Tool = tool,
                    Scopes = [spread > 0 ? $"{tool}:read" : "crm:read"],
                    Jti = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
                    Reason = "load fill",
                };
                var change = i < revocations
                    ? new Tessera.Core.Revocation.RevocationEntry(Tessera.Core.Revocation.RevocationKind.Token, record.Jti, revokedAt, revokedAt.AddHours(1))
                    : null;
                pending.Add(audit.AppendAsync(record, change));
                if (pending.Count == 4096)
                {
                    await Task.WhenAll(pending);
                    pending.Clear();
                }
            }

            await Task.WhenAll(pending);
        }

        break;
    default:
        Console.Error.WriteLine("usage: config DIR PORT [UPSTREAM] | assertions DIR ISSUER COUNT | principal DIR | tokens DIR ADDR COUNT | dpop DIR ADDR COUNT [WARM] | fill DIR EVENTS REVOCATIONS [AGENTS | CONNECTION NODE] | posture-config DIR PORT AGENTS");
        return 2;
}

return 0;

// The proxy with DPoP (RFC 9449): the token is bound to a fresh P-256 key by a proof at the token
// endpoint (htu ADDR/oauth/token; the bench config's issuer defaults to its listen address, which is
// ADDR), then every proxied request carries a proof of its own. Proofs are written by hand, as
// tests/Tessera.Core.Tests/Dpop/DpopKey.cs does; the header (with the public jwk) is the same for all.
static async Task Dpop(string dir, string addr, int count, int warm)
{
    using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var q = ecdsa.ExportParameters(false).Q;
    var header = Base64UrlEncoder.Encode(
        $$$"""{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"{{{Base64UrlEncoder.Encode(q.X!)}}}","y":"{{{Base64UrlEncoder.Encode(q.Y!)}}}"}}""");
    string Proof(string method, string htu, long iat, string? ath)
    {
        var jti = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var claims = ath is null
            ? $$"""{"jti":"{{jti}}","htm":"{{method}}","htu":"{{htu}}","iat":{{iat}}}"""
            : $$"""{"jti":"{{jti}}","htm":"{{method}}","htu":"{{htu}}","iat":{{iat}},"ath":"{{ath}}"}""";
        var input = header + "." + Base64UrlEncoder.Encode(claims);
        return input + "." + Base64UrlEncoder.Encode(ecdsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    static long Now() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    using var http = new HttpClient { BaseAddress = new Uri(addr) };
    using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
    {
        Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
    };
    tokenRequest.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("bench-agent:" + Secret)));
    tokenRequest.Headers.Add("DPoP", Proof("POST", addr + "/oauth/token", Now(), null));
    using var tokenResponse = await http.SendAsync(tokenRequest);
    var body = await tokenResponse.Content.ReadAsStringAsync();
    using var json = JsonDocument.Parse(body);
    if (!tokenResponse.IsSuccessStatusCode || !json.RootElement.TryGetProperty("token_type", out var type) || type.GetString() != "DPoP")
    {
        throw new InvalidOperationException($"the token endpoint did not issue a DPoP-bound token: {(int)tokenResponse.StatusCode} {body}");
    }

    var token = json.RootElement.GetProperty("access_token").GetString()!;
    var ath = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
    const string ProxyPath = "/proxy/crm/contacts/42";
    var htu = addr + ProxyPath;

    // One request with a proof of its own, so a refusal shows here and not as non-2xx in the run.
    using (var check = new HttpRequestMessage(HttpMethod.Get, ProxyPath))
    {
        check.Headers.Authorization = new AuthenticationHeaderValue("DPoP", token);
        check.Headers.Add("DPoP", Proof("GET", htu, Now(), ath));
        using var checkResponse = await http.SendAsync(check);
        if (!checkResponse.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"the proxy refused the DPoP request: {(int)checkResponse.StatusCode} {checkResponse.Headers.WwwAuthenticate}");
        }
    }

    File.WriteAllText(Path.Combine(dir, "dpop-token.txt"), token);
    void Write(string name, int n)
    {
        var iat = Now();
        var proofs = new string[n];
        Parallel.For(0, n, i => proofs[i] = Proof("GET", htu, iat, ath));
        File.WriteAllLines(Path.Combine(dir, name), proofs);
    }

    Write("dpop-warm-proofs.txt", warm);
    Write("dpop-proofs.txt", count);
}

// AGENTS agents over 20 tools of three scopes each: agent i may use tool (i % 20) read and write and the
// next tool's read, delegates to the next agent of its team of ten (a ring of ten), and authenticates
// with a client secret; one agent in ten expires within a month. What `fill DIR EVENTS 0 AGENTS` records makes each agent use its first read scope.
static async Task Flood(string addr, int seconds, int sources, int first)
{
    var end = TimeProvider.System.GetTimestamp() + (seconds * TimeProvider.System.TimestampFrequency);
    var counts = new System.Collections.Concurrent.ConcurrentDictionary<int, long>();
    var attackers = Enumerable.Range(first, sources).Select(n => Task.Run(async () =>
    {
        var source = System.Net.IPAddress.Parse($"127.0.0.{n}");
        using var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new System.Net.IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        }) { BaseAddress = new Uri(addr) };
        for (var i = 0; TimeProvider.System.GetTimestamp() < end; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
            {
                Content = new ByteArrayContent("grant_type=client_credentials&scope=crm%3Aread"u8.ToArray()),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"attacker-{n}-{i}:wrong-secret-{i}")));
            using var response = await client.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            counts.AddOrUpdate((int)response.StatusCode, 1, static (_, c) => c + 1);
        }
    }));
    await Task.WhenAll(attackers);
    // The attackers' own CPU (they run on the same cores as the server and the agent).
    var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    Console.WriteLine(FormattableString.Invariant($"{counts.Values.Sum()} {cpu:F1} {string.Join(',', counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}"));
}

static string PostureConfig(string port, int agents)
{
    var yaml = new StringBuilder($$"""
        server: { listen: "http://127.0.0.1:{{port}}" }
        storage: sqlite:data/tessera.db
        data_dir: data
        tools:

        """);
    for (var t = 0; t < 20; t++)
    {
        yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""
              - id: tool{{t:D2}}
                scopes:
                  read: { rules: [ "GET /items/**" ] }
                  write: { rules: [ "POST /items/**", "PUT /items/*" ] }
                  admin: { rules: [ "DELETE /items/*" ] }

            """);
    }

    yaml.Append("agents:\n");
    var now = TimeProvider.System.GetUtcNow();
    var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Secret)));
    for (var a = 0; a < agents; a++)
    {
        var (own, next) = ($"tool{a % 20:D2}", $"tool{(a + 1) % 20:D2}");
        yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""
              - id: agent-{{a:D4}}
                owner: team-{{a % 37}}@example.com
                purpose: posture benchmark
                expires: {{now.AddDays(a % 10 == 0 ? 20 : 200):yyyy-MM-dd}}
                auth: { client_secret_sha256: {{hash}} }
                allowed_scopes: [ "{{own}}:read", "{{own}}:write", "{{next}}:read" ]
                may_delegate_to: [ agent-{{Math.Min(a / 10 * 10 + (a + 1) % 10, agents - 1):D4}} ]

            """);
    }

    return yaml.ToString();
}

static ECDsaSecurityKey NewKey(string dir, string name)
{
    var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    File.WriteAllText(Path.Combine(dir, name + ".key.pem"), ecdsa.ExportPkcs8PrivateKeyPem());
    return new ECDsaSecurityKey(ecdsa) { KeyId = name + "-key" };
}

static ECDsaSecurityKey LoadKey(string dir, string name)
{
    var ecdsa = ECDsa.Create();
    ecdsa.ImportFromPem(File.ReadAllText(Path.Combine(dir, name + ".key.pem")));
    return new ECDsaSecurityKey(ecdsa) { KeyId = name + "-key" };
}

static string Jwks(ECDsaSecurityKey key)
{
    var p = key.ECDsa.ExportParameters(false);
    return $$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{Base64UrlEncoder.Encode(p.Q.X)}}","y":"{{Base64UrlEncoder.Encode(p.Q.Y)}}","kid":"{{key.KeyId}}","alg":"ES256","use":"sig"}]}""";
}
