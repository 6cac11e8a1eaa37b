using System.Buffers.Text;
using Npgsql;
using Tessera.Storage.Postgres.Tests;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// Three <c>tessera serve</c> processes on one PostgreSQL database (one installation: one issuer, one
/// master key), an identity provider whose key the test holds, and an upstream that counts what it
/// is sent. Started once for <see cref="ThreeNodeClusterTests"/>; each test uses its own tokens,
/// approvals and proofs, so they do not depend on each other.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ThreeNodes(PostgresCluster cluster) : IAsyncLifetime
{
    public const string Issuer = "https://tessera.example";
    public const string AgentSecret = "foo"; // its SHA-256 is in the configuration below
    public const string IdpIssuer = "https://idp.e2e.test";
    private const string IdpKid = "e2e-idp-key";

    private readonly ECDsa _idpKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly List<string> _directories = [];
    private readonly List<TesseraProcess> _processes = [];
    private readonly HttpListener _upstream = new();
    private int _upstreamRequests;
    private Task? _upstreamLoop;

    /// <summary>jwt-agent's registered key (private_key_jwt).</summary>
    public ECDsa AgentKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public Node A { get; private set; } = null!;
    public Node B { get; private set; } = null!;
    public Node C { get; private set; } = null!;

    public IReadOnlyList<Node> All => [A, B, C];

    /// <summary>How many requests the upstream has been sent so far, through any node.</summary>
    public int UpstreamRequests => Volatile.Read(ref _upstreamRequests);

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync(ct)).Database!;
        var environment = new Dictionary<string, string> { ["TESSERA_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        var upstreamPort = TesseraProcess.FreePort();
        _upstream.Prefixes.Add($"http://127.0.0.1:{upstreamPort}/");
        _upstream.Start();
        _upstreamLoop = ServeUpstreamAsync();

        var nodes = new List<(string Directory, int Port, string Id)>();
        foreach (var id in new[] { "node-a", "node-b", "node-c" })
        {
            var directory = Directory.CreateTempSubdirectory($"tessera-e2e-{id}-").FullName;
            _directories.Add(directory);
            var port = TesseraProcess.FreePort();
            await WriteConfigAsync(directory, port, id, database, upstreamPort, ct);
            nodes.Add((directory, port, id));
        }

        // The first node alone creates the first signing key (docs/operations.md); the others start together.
        A = await StartAsync(nodes[0], environment);
        var others = await Task.WhenAll(StartAsync(nodes[1], environment), StartAsync(nodes[2], environment));
        (B, C) = (others[0], others[1]);
    }

    private async Task<Node> StartAsync((string Directory, int Port, string Id) node, Dictionary<string, string> environment)
    {
        var process = TesseraProcess.Start(node.Directory, environment, "serve");
        lock (_processes)
        {
            _processes.Add(process);
        }

        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.Port}") };
        await process.WaitUntilReadyAsync(http);
        var adminToken = (await File.ReadAllTextAsync(Path.Combine(node.Directory, "data", "admin.token"))).Trim();
        return new Node(node.Id, http, adminToken);
    }

    /// <summary>Answers every request 200 and counts it: what the proxy forwarded.</summary>
    private async Task ServeUpstreamAsync()
    {
        while (_upstream.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _upstream.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Interlocked.Increment(ref _upstreamRequests);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync("{\"ok\":true}"u8.ToArray());
            context.Response.Close();
        }
    }

    private async Task WriteConfigAsync(string directory, int port, string nodeId, string database, int upstreamPort, CancellationToken ct)
    {
        var p = _idpKey.ExportParameters(includePrivateParameters: false);
        await File.WriteAllTextAsync(Path.Combine(directory, "idp.jwks.json"), JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(p.Q.X), y = Base64Url.EncodeToString(p.Q.Y), kid = IdpKid, use = "sig", alg = "ES256" } },
        }), ct);
        var a = AgentKey.ExportParameters(includePrivateParameters: false);
        var agentJwks = JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", x = Base64Url.EncodeToString(a.Q.X), y = Base64Url.EncodeToString(a.Q.Y), kid = "jwt-agent-key", use = "sig", alg = "ES256" } },
        });
        await File.WriteAllTextAsync(Path.Combine(directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
              issuer: {{Issuer}}  # one installation: one issuer, whichever node signs
            storage: postgres://tessera@127.0.0.1:{{cluster.Port}}/{{database}}
            cluster: { node_id: {{nodeId}} }
            signing_keys: { publish_ahead: 1s }  # a rotated key signs a second after it is published
            identity_providers:
              - id: corp
                issuer: {{IdpIssuer}}
                jwks_file: idp.jwks.json
                audience: tessera
            approver_groups:
              - { id: security-oncall, members: [ { idp: corp, sub: bob } ] }
            tools:
              - id: crm
                upstream: http://127.0.0.1:{{upstreamPort}}
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  export: { rules: [ "GET /exports/**" ], approval: { group: security-oncall, ttl: 2m, max_uses: 3 } }
            agents:
              - id: support-agent
                owner: support-platform@corp.example
                purpose: Answer customer tickets
                expires: {{TesseraProcess.AgentExpiry}}
                auth: { client_secret_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae }
                allowed_scopes: [ "crm:read", "crm:export" ]
              - id: jwt-agent
                owner: platform@corp.example
                purpose: Sign in with a key, not a secret
                expires: {{TesseraProcess.AgentExpiry}}
                auth:
                  jwks: {{agentJwks}}
                allowed_scopes: [ "crm:read" ]
            """, ct);
    }

    /// <summary>A JWT of the identity provider for <paramref name="sub"/> at the admin audience, valid for ten minutes.</summary>
    public string ApproverToken(string sub)
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var signingInput = Encode(new { alg = "ES256", typ = "JWT", kid = IdpKid }) + "." + Encode(new { iss = IdpIssuer, sub, aud = "tessera-admin", iat = now, nbf = now, exp = now + 600 });
        var signature = _idpKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>A fresh private_key_jwt assertion of jwt-agent for the token endpoint (RFC 7523).</summary>
    public string ClientAssertion()
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var signingInput = Encode(new { alg = "ES256", typ = "JWT", kid = "jwt-agent-key" }) + "." +
            Encode(new { iss = "jwt-agent", sub = "jwt-agent", aud = Issuer + "/oauth/token", jti = Guid.NewGuid().ToString("N"), iat = now, nbf = now, exp = now + 60 });
        var signature = AgentKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in new[] { A, B, C }.Where(n => n is not null))
        {
            node.Http.Dispose();
        }

        await Task.WhenAll(_processes.Select(async p =>
        {
            try
            {
                await p.TerminateAsync();
            }
            finally
            {
                await p.DisposeAsync();
            }
        }));
        _upstream.Close();
        if (_upstreamLoop is not null)
        {
            await _upstreamLoop;
        }

        _idpKey.Dispose();
        AgentKey.Dispose();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>One running node: its name, a client for it and its bootstrap admin token.</summary>
    public sealed record Node(string Id, HttpClient Http, string AdminToken);
}
