using System.Diagnostics;
using System.Net.Sockets;

namespace Tessera.EndToEnd.Tests;

/// <summary>Runs the real <c>tessera</c> command (the built tessera.dll) as a child process.</summary>
internal sealed class TesseraProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<string> _standardOutput = [];
    private TaskCompletionSource _outputLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The host's "Application started." line: logged once Kestrel listens and every hosted service
    /// (the start-up checks that make <c>/readyz</c> answer 200) has started.
    /// </summary>
    private const string StartedLine = "Application started.";

    /// <summary>How long a real process may take to start, run or stop before the test fails (only to fail a hung test).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TesseraProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            Append(e.Data);
            AppendStandardOutput(e.Data);
        };
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public Process Process => _process;

    /// <summary>The lines the process wrote to standard output alone (<see cref="Output"/> holds both streams).</summary>
    public IReadOnlyList<string> StandardOutputLines
    {
        get
        {
            lock (_standardOutput)
            {
                return [.. _standardOutput];
            }
        }
    }

    /// <summary>Waits, on each new line of standard output (bounded, only to fail a hung test), until a line matches.</summary>
    public async Task WaitForStandardOutputAsync(Func<string, bool> match)
    {
        while (true)
        {
            Task next;
            lock (_standardOutput)
            {
                if (_standardOutput.Any(match))
                {
                    return;
                }

                next = _outputLine.Task;
            }

            await UntilAsync(Task.WhenAny(next, _process.WaitForExitAsync()), "write the expected line to standard output");
            if (_process.HasExited && !next.IsCompleted)
            {
                Xunit.Assert.Fail($"tessera exited ({_process.ExitCode}) before the expected line:\n{Output}");
            }
        }
    }

    private void AppendStandardOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        TaskCompletionSource signal;
        lock (_standardOutput)
        {
            _standardOutput.Add(line);
            signal = _outputLine;
            _outputLine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }

    /// <summary>
    /// Waits for the server's own signal that it started (its "Application started." line), then
    /// checks that <c>/readyz</c> answers 200. Fails with the output so far if the process exits
    /// first or does not start within <see cref="Patience"/>; nothing here waits a fixed time.
    /// </summary>
    public async Task WaitUntilReadyAsync(HttpClient http)
    {
        await UntilAsync(Task.WhenAny(_started.Task, _process.WaitForExitAsync()).Unwrap(), "start");
        if (_process.HasExited)
        {
            Xunit.Assert.Fail($"tessera exited ({_process.ExitCode}) before it started:\n{Output}");
        }

        using var ready = await http.GetAsync("/readyz");
        Xunit.Assert.True(ready.StatusCode == HttpStatusCode.OK, $"started but /readyz answered {(int)ready.StatusCode}:\n{Output}");
    }

    /// <summary>Awaits <paramref name="work"/>, failing with a clear message and the output so far when it takes longer than <see cref="Patience"/>.</summary>
    private async Task UntilAsync(Task work, string what)
    {
        try
        {
            await work.WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            Xunit.Assert.Fail($"tessera {string.Join(' ', _process.StartInfo.ArgumentList.Skip(3))} did not {what} within {Patience.TotalSeconds:0} s; output so far:\n{Output}");
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.Contains(StartedLine, StringComparison.Ordinal))
        {
            _started.TrySetResult();
        }
    }

    public static string TesseraDll => Path.Combine(AppContext.BaseDirectory, "tessera.dll");

    /// <summary>
    /// An agent <c>expires</c> date for configurations the real process loads: six months from today
    /// by the system clock, inside <c>registry.max_agent_lifetime</c> (a year) and far from expiring.
    /// </summary>
    /// <summary>
    /// The crm tool and <c>support-agent</c> (secret <c>foo</c>, may read the crm) that most end-to-end
    /// configurations list after their own <c>server</c> and <c>storage</c> lines.
    /// </summary>
    public static string CrmAndSupportAgent => $$"""
        tools:
          - id: crm
            upstream: http://127.0.0.1:9102
            scopes: { read: { rules: [ "GET /contacts/**" ] } }
        agents:
          - id: support-agent
            owner: support-platform@corp.example
            purpose: Answer customer tickets
            expires: {{AgentExpiry}}
            auth: { client_secret_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae }
            allowed_scopes: [ "crm:read" ]
        """;

    public static string AgentExpiry => TimeProvider.System.GetUtcNow().AddMonths(6).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private const string Env = "/usr/bin/env";

    private static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static TesseraProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Start(workingDirectory, environment, "--default-signal=HUP", args);

    /// <summary>Starts tessera with SIGHUP ignored, as <c>nohup</c> starts a process.</summary>
    public static TesseraProcess StartIgnoringHangup(string workingDirectory, params string[] args) =>
        Start(workingDirectory, null, "--ignore-signal=HUP", args);

    /// <summary>
    /// Starts tessera through coreutils' <c>env</c> (which execs it: the pid is tessera's), setting
    /// SIGHUP's disposition: a process inherits an ignored SIGHUP from whoever started the test run
    /// (<c>nohup</c>), and the tests of SIGHUP must not depend on how they were launched.
    /// </summary>
    private static TesseraProcess Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, string hangup, string[] args)
    {
        if (!File.Exists(Env))
        {
            throw new InvalidOperationException($"The end-to-end tests start tessera through {Env} (coreutils ≥ 8.31) to set SIGHUP's disposition; it is missing.");
        }

        var info = new ProcessStartInfo(Env)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(hangup);
        info.ArgumentList.Add(DotNet);
        info.ArgumentList.Add(TesseraDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment.Remove("TESSERA_ADDR");
        info.Environment.Remove("TESSERA_TOKEN");
        info.Environment.Remove("TESSERA_MASTER_KEY");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return new TesseraProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start tessera"));
    }

    /// <summary>Runs a command to completion (bounded) and returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] args) => RunAsync(workingDirectory, null, args);

    /// <summary>Runs a command to completion (bounded) with <paramref name="environment"/> set (e.g. TESSERA_ADDR, TESSERA_TOKEN).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        await using var process = Start(workingDirectory, environment, args);
        await process.UntilAsync(process._process.WaitForExitAsync(), "exit");
        // The asynchronous readers finish after exit; a second wait flushes them.
        process._process.WaitForExit();
        return (process._process.ExitCode, process.Output);
    }

    /// <summary>Runs a command to completion (bounded) with <paramref name="input"/> on its stdin, closed afterwards.</summary>
    public static async Task<(int ExitCode, string Output)> RunWithInputAsync(string workingDirectory, string input, params string[] args)
    {
        await using var process = Start(workingDirectory, null, args);
        await process._process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(input));
        process._process.StandardInput.Close();
        await process.UntilAsync(process._process.WaitForExitAsync(), "exit");
        process._process.WaitForExit();
        return (process._process.ExitCode, process.Output);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Sends SIGTERM and waits (bounded) for a clean exit.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        await UntilAsync(_process.WaitForExitAsync(), "stop on SIGTERM");
        return _process.ExitCode;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
