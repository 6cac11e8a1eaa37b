using BenchmarkDotNet.Attributes;
using Tessera.Core.Proxy;

namespace Tessera.Benchmarks;

/// <summary>
/// <see cref="PathRule.Matches"/> over the ten rules of one tool, tried in order until one matches,
/// as the proxy will for each call: a path the first rule allows, one only the last rule allows,
/// and one no rule allows (all ten tried).
/// </summary>
[MemoryDiagnoser]
public class PathRuleBenchmarks
{
    private PathRule[] _rules = null!;

    [GlobalSetup]
    public void Setup() => _rules =
    [
        PathRule.Parse("GET /repos/*/*"),
        PathRule.Parse("GET /repos/*/*/issues/**"),
        PathRule.Parse("POST /repos/*/*/issues"),
        PathRule.Parse("PATCH /repos/*/*/issues/*"),
        PathRule.Parse("GET /repos/*/*/pulls/**"),
        PathRule.Parse("POST /repos/*/*/pulls"),
        PathRule.Parse("GET /repos/*/*/contents/**"),
        PathRule.Parse("GET /orgs/*/members"),
        PathRule.Parse("GET /user"),
        PathRule.Parse("* /repos/*/*/actions/runs/*/logs/**"),
    ];

    [Benchmark]
    public int MatchFirst() => FirstMatch("GET", "/repos/acme/payments");

    [Benchmark]
    public int MatchLast() => FirstMatch("GET", "/repos/acme/payments/actions/runs/8812/logs/job/3");

    [Benchmark]
    public int NoMatch() => FirstMatch("GET", "/repos/acme/payments/branches/main/protection");

    private int FirstMatch(string method, string path)
    {
        var rules = _rules;
        for (var i = 0; i < rules.Length; i++)
        {
            if (rules[i].Matches(method, path))
            {
                return i;
            }
        }

        return -1;
    }
}
