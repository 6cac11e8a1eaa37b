using Tessera.Core.Proxy;

namespace Tessera.Benchmarks;

/// <summary>
/// <see cref="PathRule.Matches"/> over the ten rules of one tool, tried in order until one matches,
/// as the proxy will for each call: a path the first rule allows, one only the last rule allows,
/// and one no rule allows (all ten tried). <c>Hostile</c>: one rule with three <c>**</c> against a
/// path of 1,600 segments that almost matches it (the matcher's worst case; linear in the path).
/// </summary>
[MemoryDiagnoser]
public class PathRuleBenchmarks
{
    private PathRule[] _rules = null!;
    private PathRule _hostileRule = null!;
    private string _hostilePath = null!;

    [GlobalSetup]
    public void Setup()
    {
        _hostileRule = PathRule.Parse("GET /**/a/**/b/**/c");
        _hostilePath = string.Concat(Enumerable.Repeat("/a/b", 800));
        _rules =
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
    }

    [Benchmark]
    public int MatchFirst() => FirstMatch("GET", "/repos/acme/payments");

    [Benchmark]
    public int MatchLast() => FirstMatch("GET", "/repos/acme/payments/actions/runs/8812/logs/job/3");

    [Benchmark]
    public int NoMatch() => FirstMatch("GET", "/repos/acme/payments/branches/main/protection");

    [Benchmark]
    public bool Hostile() => _hostileRule.Matches("GET", _hostilePath);

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
