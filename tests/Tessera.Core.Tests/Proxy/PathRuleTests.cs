using CsCheck;

namespace Tessera.Core.Tests.Proxy;

public sealed class PathRuleTests
{
    [Theory]
    [InlineData("GET /contacts/**", "GET", "/contacts", true)]
    [InlineData("GET /contacts/**", "GET", "/contacts/42", true)]
    [InlineData("GET /contacts/**", "GET", "/contacts/42/notes/7", true)]
    [InlineData("GET /contacts/**", "GET", "/contactsX", false)]
    [InlineData("GET /contacts/**", "POST", "/contacts/42", false)]
    [InlineData("GET /contacts/**", "get", "/contacts/42", false)]
    [InlineData("GET /accounts/*", "GET", "/accounts/7", true)]
    [InlineData("GET /accounts/*", "GET", "/accounts", false)]
    [InlineData("GET /accounts/*", "GET", "/accounts/7/owner", false)]
    [InlineData("GET /accounts/*", "GET", "/Accounts/7", false)]
    [InlineData("POST /exports", "POST", "/exports", true)]
    [InlineData("POST /exports", "POST", "/exports/", false)]
    [InlineData("POST /exports", "POST", "/exports/all", false)]
    [InlineData("POST /repos/*/*/pulls", "POST", "/repos/acme/app/pulls", true)]
    [InlineData("POST /repos/*/*/pulls", "POST", "/repos/acme/pulls", false)]
    [InlineData("GET /**", "GET", "/", true)]
    [InlineData("GET /**", "GET", "/anything/at/all", true)]
    [InlineData("* /health", "DELETE", "/health", true)]
    [InlineData("GET /a/**/z", "GET", "/a/z", true)]
    [InlineData("GET /a/**/z", "GET", "/a/b/c/z", true)]
    [InlineData("GET /a/**/z", "GET", "/a/b/c/y", false)]
    public void Rules_match_methods_and_segments_exactly(string rule, string method, string path, bool expected) =>
        Assert.Equal(expected, PathRule.Parse(rule).Matches(method, path));

    [Fact]
    public void A_path_without_a_leading_slash_never_matches() =>
        Assert.False(PathRule.Parse("GET /**").Matches("GET", "contacts"));

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    public void A_path_that_almost_matches_many_double_stars_costs_work_linear_in_its_length(int literalPrefix)
    {
        // Three ** and a path of 1,600 segments that never ends in c: a backtracking matcher tries
        // every way of splitting the path between the ** (it took seconds of CPU for one 403). A
        // literal prefix of 64 segments makes the rule longer than one word of positions.
        var prefix = string.Concat(Enumerable.Repeat("/x", literalPrefix));
        var rule = PathRule.Parse("GET " + prefix + "/**/a/**/b/**/c");
        var path = prefix + string.Concat(Enumerable.Repeat("/a/b", 800));

        Assert.False(rule.Matches("GET", path, out var steps));

        // Each (pattern segment, path position) pair is visited at most once.
        var patternSegments = literalPrefix + 6;
        var pathSegments = literalPrefix + 1600;
        Assert.InRange(steps, 1, (patternSegments + 1) * (pathSegments + 1));
    }

    [Fact]
    public void An_ordinary_rule_costs_a_few_steps_per_path_segment()
    {
        var rule = PathRule.Parse("GET /repos/*/*/actions/runs/*/logs/**");

        Assert.True(rule.Matches("GET", "/repos/acme/payments/actions/runs/8812/logs/job/3", out var steps));
        Assert.InRange(steps, 1, (9 + 1) * (10 + 1));
    }

    [Fact]
    public void Random_rules_and_paths_match_as_the_backtracking_matcher_did()
    {
        // Segments that exercise the edge cases: empty segments (trailing slash, '//'), * and ** anywhere.
        var patternSegment = Gen.OneOfConst("a", "b", "", "*", "**");
        var pathSegment = Gen.OneOfConst("a", "b", "", "ab");
        var rules = patternSegment.Array[0, 7].Select(s => "GET /" + string.Join('/', s));
        var paths = Gen.Select(pathSegment.Array[0, 8], Gen.Bool).Select((s, slash) => (slash ? "/" : "") + string.Join('/', s));
        Gen.Select(rules, paths).Sample((rule, path) =>
            Assert.True(BacktrackingPathRule.Parse(rule).Matches("GET", path) == PathRule.Parse(rule).Matches("GET", path),
                $"'{rule}' against '{path}': expected {BacktrackingPathRule.Parse(rule).Matches("GET", path)}"), iter: 20_000);
    }

    [Fact]
    public void Rules_of_more_than_63_segments_match_as_the_backtracking_matcher_did()
    {
        // Long rules keep their sets in several words: a long literal prefix (with at most one * or
        // ** in it, so the oracle stays fast) and a random tail, around the 64-segment boundary.
        var tailPattern = Gen.OneOfConst("a", "b", "", "*", "**").Array[0, 6];
        var tailPath = Gen.OneOfConst("a", "b", "", "ab").Array[0, 6];
        var prefix = Gen.Select(Gen.Int[56, 66], Gen.Int[0, 65], Gen.OneOfConst("a", "*", "**"));
        var rules = Gen.Select(prefix, tailPattern).Select((p, tail) =>
            "GET /" + string.Join('/', Enumerable.Range(0, p.Item1).Select(i => i == p.Item2 ? p.Item3 : "a").Concat(tail)));
        var paths = Gen.Select(Gen.Int[55, 67], tailPath).Select((n, tail) => "/" + string.Join('/', Enumerable.Repeat("a", n).Concat(tail)));
        Gen.Select(rules, paths).Sample((rule, path) =>
            Assert.True(BacktrackingPathRule.Parse(rule).Matches("GET", path) == PathRule.Parse(rule).Matches("GET", path),
                $"'{rule}' against '{path}': expected {BacktrackingPathRule.Parse(rule).Matches("GET", path)}"), iter: 5_000);
    }
}
