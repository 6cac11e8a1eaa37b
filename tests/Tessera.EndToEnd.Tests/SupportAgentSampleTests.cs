using System.Diagnostics;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// The support-agent sample (samples/SupportAgent) runs in CI as a reader would run it: its one command,
/// <c>run.sh</c>, builds, starts <c>tessera serve</c>, runs the agent, approves its export from the
/// command line, and exits 0 only if the plan ran to the end.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Trait("Speed", "Slow")] // builds and runs real processes
public sealed class SupportAgentSampleTests
{
    /// <summary>Only to fail a hung run; the script builds two projects before it starts (incremental in CI, where the solution is built).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(8);

    [Fact]
    public async Task The_sample_reads_waits_for_approval_exports_once_and_ends_its_mission()
    {
        var script = Path.Combine(RepositoryRoot(), "samples", "SupportAgent", "run.sh");
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.Environment.Remove("TESSERA_ADDR");
        info.Environment.Remove("TESSERA_TOKEN");
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"run.sh did not finish within {Patience.TotalMinutes:0} minutes:\n{output}");
        }

        process.WaitForExit();
        var text = output.ToString();
        Assert.True(process.ExitCode == 0, text);
        var id = System.Text.RegularExpressions.Regex.Match(text, "auth_req_id=([A-Za-z0-9_-]+)").Groups[1].Value;
        Assert.NotEmpty(id);
        Assert.Contains("mission m_", text, StringComparison.Ordinal);
        Assert.Contains("read contact 42 through the proxy: {\"id\":\"42\"", text, StringComparison.Ordinal);
        Assert.Contains($"an approver runs: tessera approval approve {id}", text, StringComparison.Ordinal);
        Assert.Contains($"approval {id} is approved", text, StringComparison.Ordinal);
        Assert.Contains("exported once: {\"export\":\"exp-1\"", text, StringComparison.Ordinal);
        Assert.Contains("a second export is refused: 403", text, StringComparison.Ordinal);
        Assert.Contains("mission ended", text, StringComparison.Ordinal);
        Assert.EndsWith("plan complete", text.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain("FAILED", text, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tessera.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Tessera.slnx not found above " + AppContext.BaseDirectory);
    }
}
