using System.Globalization;
using System.Text;

namespace Tessera.CrashTest;

/// <summary>What a run did and found: the kills, the actions acknowledged before them, the violations and how long each restart took to be ready.</summary>
internal sealed class CrashReport(CrashOptions options)
{
    public CrashOptions Options { get; } = options;

    public int Kills { get; set; }

    public Dictionary<ActionKind, int> Acknowledged { get; } = Enum.GetValues<ActionKind>().ToDictionary(k => k, _ => 0);

    public int UpstreamReceived { get; set; }

    public int RevocationsRechecked { get; set; }

    public int Unexpected { get; set; }

    public List<Violation> Violations { get; } = [];

    public List<TimeSpan> ReadyTimes { get; } = [];

    /// <summary>The run's directory, kept when a violation was found.</summary>
    public string? KeptDirectory { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>The command that repeats this run's random choices.</summary>
    public string Reproduce => $"dotnet run -c Release --project bench/Tessera.CrashTest -- --kills {Options.Kills} --seed {Options.Seed} --storage {Options.StorageName}";

    public TimeSpan ReadyPercentile(double p)
    {
        if (ReadyTimes.Count == 0)
        {
            return TimeSpan.Zero;
        }

        var sorted = ReadyTimes.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public override string ToString()
    {
        var s = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        s.AppendLine(c, $"storage {Options.StorageName}, seed {Options.Seed}, {Kills} kills (SIGKILL) in {Elapsed.TotalSeconds:0} s, {Options.Workers} workers");
        s.AppendLine(c, $"acknowledged before a kill: {Acknowledged.Values.Sum()} actions ({string.Join(", ", Acknowledged.Select(a => $"{a.Key} {a.Value}"))})");
        s.AppendLine(c, $"upstream received {UpstreamReceived} requests; {RevocationsRechecked} revocations re-checked after restarts; {Unexpected} unexpected answers from a live server");
        s.AppendLine(c, $"ready again (start to /readyz 200): p50 {ReadyPercentile(0.5).TotalSeconds:0.00} s, p90 {ReadyPercentile(0.9).TotalSeconds:0.00} s, max {ReadyPercentile(1).TotalSeconds:0.00} s");
        s.AppendLine(c, $"violations: {Violations.Count}");
        foreach (var v in Violations)
        {
            s.AppendLine(c, $"  {v}");
        }

        if (Violations.Count > 0)
        {
            s.AppendLine(c, $"reproduce with: {Reproduce}");
            if (KeptDirectory is not null)
            {
                s.AppendLine(c, $"the run's directory is kept: {KeptDirectory}");
            }
        }

        return s.ToString();
    }
}
