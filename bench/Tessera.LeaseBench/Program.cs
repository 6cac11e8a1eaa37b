using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

// Database leases against a running `tessera serve` (bench/leases/run.sh; docs/performance.md, "Database leases").
// Usage:
//   config DIR PORT PG_PORT    write DIR/tessera.yaml (SQLite store, a postgres tool warehouse on 127.0.0.1:PG_PORT,
//                              agent lease-agent, identity provider corp for principal alice) and the IdP's key
//   run DIR ADDR SUPERUSER [N [CASCADE [SESSIONS [PARALLEL]]]]
//                              against the server at ADDR (its admin token in DIR/data/admin.token) and the
//                              warehouse (SUPERUSER: an Npgsql connection string of a superuser in its database):
//                              a. N leases (default 300) one after another with one client_credentials token;
//                              b. those N ended one after another by the admin API, every other one with an open session;
//                              c. a mission's CASCADE leases (default 1,000; PARALLEL requests at once, default 4),
//                                 SESSIONS of them (default 50) with an open session, then the mission revoked: the time
//                                 until no lease role is left in pg_roles (polled every 50 ms) and none is live in GET /admin/v1/leases.
const string AgentSecret = "lease-bench-secret-0123456789abcdefghijkl";
const string Agent = "lease-agent";
const string IdpIssuer = "https://idp.bench";
const string Role = "{{role}}";
var inv = CultureInfo.InvariantCulture;
var dir = args.Length > 1 ? args[1] : ".";
switch (args.FirstOrDefault())
{
    case "config":
    {
        Directory.CreateDirectory(dir);
        using var idp = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        File.WriteAllText(Path.Combine(dir, "idp.key"), idp.ExportPkcs8PrivateKeyPem());
        var q = idp.ExportParameters(false).Q;
        File.WriteAllText(Path.Combine(dir, "idp.jwks.json"),
            $$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{Base64UrlEncoder.Encode(q.X!)}}","y":"{{Base64UrlEncoder.Encode(q.Y!)}}","kid":"idp","use":"sig","alg":"ES256"}]}""");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(AgentSecret)));
        File.WriteAllText(Path.Combine(dir, "tessera.yaml"), $$"""
            server: { listen: "http://127.0.0.1:{{args[2]}}" }
            storage: sqlite:data/tessera.db
            data_dir: data
            tokens: { default_ttl: 30m, max_ttl: 1h }
            identity_providers:
              - { id: corp, issuer: "{{IdpIssuer}}", jwks_file: idp.jwks.json, audience: tessera }
            principals:
              - { idp: corp, sub: alice, scopes: [ "warehouse:read" ] }
            tools:
              - id: warehouse
                protocol: postgres
                connection: { host: 127.0.0.1, port: {{args[3]}}, database: warehouse }
                admin_secret: warehouse-admin
                lease_ttl: 15m
                scopes:
                  read: { grants: [ "GRANT USAGE ON SCHEMA reporting TO {{Role}}", "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO {{Role}}" ] }
            agents:
              - id: {{Agent}}
                owner: bench@example.com
                purpose: lease benchmark
                expires: {{TimeProvider.System.GetUtcNow().AddMonths(6):yyyy-MM-dd}}
                auth: { client_secret_sha256: {{hash}} }
                allowed_scopes: [ "warehouse:read" ]
                max_ttl: 30m
            """);
        return 0;
    }

    case "run":
        break;
    default:
        Console.Error.WriteLine("usage: config DIR PORT PG_PORT | run DIR ADDR SUPERUSER [N [CASCADE [SESSIONS [PARALLEL]]]]");
        return 2;
}

var addr = args[2].TrimEnd('/');
var superuser = args[3];
var n = args.Length > 4 ? int.Parse(args[4], inv) : 300;
var cascade = args.Length > 5 ? int.Parse(args[5], inv) : 1000;
var sessions = args.Length > 6 ? int.Parse(args[6], inv) : 50;
var parallel = args.Length > 7 ? int.Parse(args[7], inv) : 4;
var adminToken = File.ReadAllText(Path.Combine(dir, "data", "admin.token")).Trim();
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(addr) };
var time = TimeProvider.System;

// a. N leases one after another with one agent token; a few warm-up leases (JIT, pools) first, ended untimed.
var agentToken = await TokenAsync([new("grant_type", "client_credentials"), new("scope", "warehouse:read")], basic: true);
var warm = new List<JsonElement>();
for (var i = 0; i < 20; i++)
{
    warm.Add((await LeaseAsync(agentToken)).Lease);
}

foreach (var lease in warm)
{
    await RevokeAsync(Id(lease));
}

var leases = new JsonElement[n];
var issue = new double[n];
for (var i = 0; i < n; i++)
{
    (leases[i], issue[i]) = await LeaseAsync(agentToken);
}

Report($"issue, one after another ({n})", issue);
foreach (var lease in leases.Take(5))
{
    await using var connection = Connect(lease);
    await connection.OpenAsync();
    await using var select = new NpgsqlCommand("SELECT count(*) FROM reporting.orders", connection);
    _ = await select.ExecuteScalarAsync();
}

Console.WriteLine("  5 of them logged in with their password and ran a SELECT");

// b. The same N ended one after another by the admin API; every other one has a session open (terminate path).
var open = new List<NpgsqlConnection>();
for (var i = 0; i < n; i += 2)
{
    var connection = Connect(leases[i]);
    await connection.OpenAsync();
    open.Add(connection);
}

var endIdle = new List<double>();
var endWithSession = new List<double>();
for (var i = 0; i < n; i++)
{
    var ms = await RevokeAsync(Id(leases[i]));
    (i % 2 == 0 ? endWithSession : endIdle).Add(ms);
}

Report($"end, no session ({endIdle.Count})", [.. endIdle]);
Report($"end, one open session ({endWithSession.Count})", [.. endWithSession]);
foreach (var connection in open)
{
    await connection.DisposeAsync();
}

open.Clear();
Console.WriteLine($"  lease roles left in pg_roles: {await LeaseRolesAsync()}");

// c. A mission's leases, ended by revoking the mission.
var principal = Principal();
var missionToken = await TokenAsync(
[
    new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
    new("subject_token", principal),
    new("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    new("purpose", "lease benchmark"),
], basic: true);
var toolToken = await TokenAsync(
[
    new("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
    new("subject_token", missionToken),
    new("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
    new("resource", "urn:tessera:tool:warehouse"),
    new("scope", "warehouse:read"),
], basic: true);
var mission = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(toolToken.Split('.')[1])).RootElement.GetProperty("mission").GetString()!;
var missionLeases = new JsonElement[cascade];
var cascadeIssue = new double[cascade];
var started = time.GetTimestamp();
await Parallel.ForAsync(0, cascade, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, _) =>
    (missionLeases[i], cascadeIssue[i]) = await LeaseAsync(toolToken));
var issueSeconds = time.GetElapsedTime(started).TotalSeconds;
Console.WriteLine($"mission {mission}: {cascade} leases issued in {issueSeconds:0.00} s ({cascade / issueSeconds:0} leases/s, {parallel} at a time)");
Report($"issue, {parallel} at a time ({cascade})", cascadeIssue);
for (var i = 0; i < sessions; i++)
{
    var connection = Connect(missionLeases[i * cascade / sessions]);
    await connection.OpenAsync();
    open.Add(connection);
}

Console.WriteLine($"  {sessions} sessions open; lease roles in pg_roles: {await LeaseRolesAsync()}");
await using var poller = new NpgsqlConnection(superuser);
await poller.OpenAsync();
await using var count = new NpgsqlCommand($"SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tessera\\_ls\\_%'", poller);
var revokeStarted = time.GetTimestamp();
using (var revoke = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/revocations")
{
    Content = new StringContent(JsonSerializer.Serialize(new { kind = "mission", id = mission }), Encoding.UTF8, "application/json"),
})
{
    revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    using var answer = await http.SendAsync(revoke);
    answer.EnsureSuccessStatusCode();
}

var answered = time.GetElapsedTime(revokeStarted).TotalMilliseconds;
using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(5));
long left;
var half = 0.0;
while ((left = (long)(await count.ExecuteScalarAsync(patience.Token))!) > 0)
{
    if (half == 0 && left <= cascade / 2)
    {
        half = time.GetElapsedTime(revokeStarted).TotalMilliseconds;
    }

    await Task.Delay(50, patience.Token);
}

var rolesGone = time.GetElapsedTime(revokeStarted).TotalMilliseconds;
int live;
while ((live = await LiveLeasesAsync()) > 0)
{
    await Task.Delay(50, patience.Token);
}

var listEmpty = time.GetElapsedTime(revokeStarted).TotalMilliseconds;
Console.WriteLine($"mission revoked: answered in {answered:0} ms; half the roles gone after {half:0} ms; every role gone from pg_roles after {rolesGone:0} ms " +
    $"({cascade / (rolesGone / 1000):0} leases/s); no live lease listed after {listEmpty:0} ms");
foreach (var connection in open)
{
    await connection.DisposeAsync();
}

return 0;

async Task<string> TokenAsync(KeyValuePair<string, string>[] form, bool basic)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token") { Content = new FormUrlEncodedContent(form) };
    if (basic)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Agent + ":" + AgentSecret)));
    }

    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"token: {(int)response.StatusCode} {body}");
    }

    return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
}

async Task<(JsonElement Lease, double Ms)> LeaseAsync(string token)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/credentials/warehouse");
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    var begin = time.GetTimestamp();
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    var ms = time.GetElapsedTime(begin).TotalMilliseconds;
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"lease: {(int)response.StatusCode} {body}");
    }

    return (JsonDocument.Parse(body).RootElement.Clone(), ms);
}

async Task<double> RevokeAsync(string id)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/leases/{id}/revoke");
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    var begin = time.GetTimestamp();
    using var response = await http.SendAsync(request);
    var body = await response.Content.ReadAsStringAsync();
    var ms = time.GetElapsedTime(begin).TotalMilliseconds;
    if (!response.IsSuccessStatusCode || JsonDocument.Parse(body).RootElement.GetProperty("status").GetString() != "ended")
    {
        throw new InvalidOperationException($"revoke {id}: {(int)response.StatusCode} {body}");
    }

    return ms;
}

async Task<int> LiveLeasesAsync()
{
    using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/leases?limit=1000");
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    using var response = await http.SendAsync(request);
    response.EnsureSuccessStatusCode();
    return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("leases").GetArrayLength();
}

async Task<long> LeaseRolesAsync()
{
    await using var connection = new NpgsqlConnection(superuser);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'tessera\\_ls\\_%'", connection);
    return (long)(await command.ExecuteScalarAsync())!;
}

string Principal()
{
    using var key = ECDsa.Create();
    key.ImportFromPem(File.ReadAllText(Path.Combine(dir, "idp.key")));
    var now = time.GetUtcNow().UtcDateTime;
    return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = IdpIssuer,
        Audience = "tessera",
        Claims = new Dictionary<string, object> { ["sub"] = "alice", ["scope"] = "warehouse:read" },
        IssuedAt = now,
        Expires = now.AddHours(1),
        SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = "idp" }, SecurityAlgorithms.EcdsaSha256),
    });
}

static string Id(JsonElement lease) => lease.GetProperty("lease_id").GetString()!;

static NpgsqlConnection Connect(JsonElement lease) => new(new NpgsqlConnectionStringBuilder
{
    Host = lease.GetProperty("host").GetString(),
    Port = lease.GetProperty("port").GetInt32(),
    Database = lease.GetProperty("database").GetString(),
    Username = lease.GetProperty("username").GetString(),
    Password = lease.GetProperty("password").GetString(),
    Pooling = false,
}.ConnectionString);

static void Report(string what, double[] ms)
{
    var sorted = ms.Order().ToArray();
    double At(double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{what}: p50 {At(0.50):0.0} ms, p90 {At(0.90):0.0} ms, p99 {At(0.99):0.0} ms, max {sorted[^1]:0.0} ms"));
}
