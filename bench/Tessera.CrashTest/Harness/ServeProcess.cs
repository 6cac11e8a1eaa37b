using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tessera.CrashTest;

/// <summary>A real <c>tessera</c> process (the built tessera.dll under <c>dotnet</c>), its last lines of output kept for a report.</summary>
internal sealed class ServeProcess : IDisposable
{
    private const int TailLines = 200;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly Stopwatch _since = Stopwatch.StartNew();

    private ServeProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Tail => string.Join('\n', _tail);

    public bool HasExited => _process.HasExited;

    private static string DotNet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public static ServeProcess Start(string tesseraDll, string directory, params string[] args)
    {
        var info = new ProcessStartInfo(DotNet)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(tesseraDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "TESSERA_ADDR", "TESSERA_TOKEN", "TESSERA_MASTER_KEY" })
        {
            info.Environment.Remove(name);
        }

        return new ServeProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start tessera"));
    }

    /// <summary>
    /// Polls <c>/readyz</c> until it answers 200 and returns how long that took since the process
    /// started; null when the process exited or <paramref name="bound"/> passed first.
    /// </summary>
    public async Task<TimeSpan?> WaitReadyAsync(HttpClient http, TimeSpan bound, CancellationToken cancellationToken)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        while (_since.Elapsed < bound && !_process.HasExited)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), attempt.Token);
                if (ready.StatusCode == System.Net.HttpStatusCode.OK)
                {
                    return _since.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // This attempt timed out; the next one follows.
            }

            await poll.WaitForNextTickAsync(cancellationToken);
        }

        return null;
    }

    /// <summary>SIGKILL: no shutdown hook, no flush, nothing the process can do about it.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        _process.WaitForExit();
    }

    /// <summary>Runs a command to completion (at most a minute) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string tesseraDll, string directory, params string[] args)
    {
        using var command = Start(tesseraDll, directory, args);
        try
        {
            await command._process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        catch (TimeoutException)
        {
            command.Kill();
            return (-1, $"tessera {string.Join(' ', args)} did not finish within a minute\n{command.Tail}");
        }

        command._process.WaitForExit(); // flushes the asynchronous readers
        return (command._process.ExitCode, command.Tail);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > TailLines)
        {
            _tail.TryDequeue(out _);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
