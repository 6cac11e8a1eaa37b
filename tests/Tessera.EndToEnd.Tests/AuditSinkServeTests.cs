namespace Tessera.EndToEnd.Tests;

/// <summary>
/// <c>tessera serve</c> with an audit sink on standard output: standard output carries the audit
/// events as JSON lines and nothing else; every log line goes to standard error.
/// </summary>
[Trait("Speed", "Slow")] // a real process; a developer's fast set leaves it out (README.md)
public sealed class AuditSinkServeTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "tessera-e2e-" + Guid.NewGuid().ToString("N"));

    public AuditSinkServeTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task With_a_stdout_sink_standard_output_holds_the_audit_events_as_json_lines_and_nothing_else()
    {
        var port = TesseraProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(_directory, "tessera.yaml"), $$"""
            server:
              listen: http://127.0.0.1:{{port}}
            audit:
              sinks:
                - { type: stdout }
            {{TesseraProcess.CrmAndSupportAgent}}
            """, TestContext.Current.CancellationToken);

        await using var server = TesseraProcess.Start(_directory, null, "serve");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await server.WaitUntilReadyAsync(http);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth/token")
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "crm:read")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("support-agent:foo")));
        using var issued = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);

        await server.WaitForStandardOutputAsync(line => line.Contains("\"type\":\"token.issued\"", StringComparison.Ordinal));
        Assert.Equal(0, await server.TerminateAsync());

        // The log went to standard error: it is in the process's output, and no line of it on standard output.
        Assert.Contains("Application started.", server.Output, StringComparison.Ordinal);
        var lines = server.StandardOutputLines;
        var seqs = lines.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
        Assert.All(lines, line => Assert.Matches("\"hash\":\"[0-9a-f]{64}\"}$", line));
    }
}
