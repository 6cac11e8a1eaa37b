using System.Text;

namespace Tessera.Benchmarks;

/// <summary>The configuration the in-memory benchmarks share: one tool, a handful of agents with secrets.</summary>
internal static class BenchConfig
{
    public const string Secret = "bench-secret-0123456789abcdefghij";

    /// <summary>The <c>client_secret_sha256</c> of <see cref="Secret"/>.</summary>
    public static string SecretSha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Secret)));

    /// <summary>A fresh, empty directory under the temp folder; the benchmark deletes it in its cleanup.</summary>
    public static string NewDirectory() => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "tessera-bench-" + Guid.NewGuid().ToString("N"))).FullName;

    public static TesseraConfig Load(string directory)
    {
        var hash = SecretSha256;
        var agents = new StringBuilder();
        foreach (var id in new[] { "bench-agent", "planner", "researcher", "mailer", "reporter", "scheduler", "crm-sync", "billing", "support-bot", "triage" })
        {
            agents.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""
                  - id: {{id}}
                    owner: bench@example.com
                    purpose: benchmark
                    expires: {{TimeProvider.System.GetUtcNow().AddMonths(6):yyyy-MM-dd}}
                    auth: { client_secret_sha256: {{hash}} }
                    allowed_scopes: [ "crm:read", "crm:write" ]

                """);
        }

        return ConfigLoader.Load($$"""
            server: { listen: "http://127.0.0.1:8080" }
            storage: sqlite:bench.db
            tools:
              - id: crm
                scopes:
                  read: { rules: [ "GET /contacts/**" ] }
                  write: { rules: [ "POST /contacts", "PUT /contacts/*" ] }
            agents:
            {{agents}}
            """, "bench.yaml", directory);
    }
}
