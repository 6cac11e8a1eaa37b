using CsCheck;

namespace Tessera.Core.Tests.Tokens;

public sealed class ScopeSetTests
{
    // Tool ids that are prefixes of one another ("crm", "crm2") catch a ForTool that forgets the colon.
    private static readonly Gen<string> Tool = Gen.OneOfConst("crm", "crm2", "github", "a.b", "x-y");
    private static readonly Gen<string> Name = Gen.OneOfConst("read", "export", "pr.write", "repo.read", "a");
    private static readonly Gen<string> Scope = Gen.Select(Tool, Name, (t, n) => $"{t}:{n}");
    private static readonly Gen<ScopeSet> Set = Scope.Array[0, 12].Select(ScopeSet.Of);

    [Fact]
    public void An_intersection_is_a_subset_of_both_inputs() =>
        Gen.Select(Set, Set).Sample((a, b) =>
        {
            var both = a.Intersect(b);
            return both.IsSubsetOf(a) && both.IsSubsetOf(b) && both.All(s => a.Contains(s) && b.Contains(s));
        });

    [Fact]
    public void An_intersection_keeps_every_scope_both_inputs_hold() =>
        Gen.Select(Set, Set).Sample((a, b) => a.Where(b.Contains).All(a.Intersect(b).Contains));

    [Fact]
    public void Intersection_is_commutative() =>
        Gen.Select(Set, Set).Sample((a, b) => a.Intersect(b).Equals(b.Intersect(a)));

    [Fact]
    public void Intersection_is_idempotent() =>
        Gen.Select(Set, Set).Sample((a, b) => a.Intersect(a).Equals(a) && a.Intersect(b).Intersect(b).Equals(a.Intersect(b)));

    [Fact]
    public void Intersecting_with_the_empty_set_leaves_nothing() =>
        Set.Sample(a => a.Intersect(ScopeSet.Empty).IsEmpty && ScopeSet.Empty.Intersect(a).IsEmpty);

    [Fact]
    public void ToString_and_Parse_round_trip() =>
        Set.Sample(a =>
        {
            var parsed = ScopeSet.Parse(a.ToString());
            return parsed.Equals(a) && parsed.ToString() == a.ToString() && parsed.GetHashCode() == a.GetHashCode();
        });

    [Fact]
    public void Parse_ignores_order_duplicates_and_repeated_spaces() =>
        Gen.Select(Scope.Array[1, 8], Gen.Int[1, 4]).Sample((scopes, spaces) =>
        {
            var messy = string.Join(new string(' ', spaces), scopes.Reverse().Concat(scopes)) + " ";
            return ScopeSet.Parse(messy).Equals(ScopeSet.Of(scopes)) && ScopeSet.Parse(messy).Count == scopes.Distinct(StringComparer.Ordinal).Count();
        });

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Parsing_nothing_yields_the_empty_set(string? text) => Assert.True(ScopeSet.Parse(text).IsEmpty);

    [Fact]
    public void ForTool_keeps_exactly_that_tools_scopes() =>
        Gen.Select(Set, Tool).Sample((a, tool) =>
        {
            var only = a.ForTool(tool);
            return only.IsSubsetOf(a)
                && only.All(s => s.StartsWith(tool + ":", StringComparison.Ordinal))
                && a.Where(s => s.StartsWith(tool + ":", StringComparison.Ordinal)).All(only.Contains);
        });

    [Fact]
    public void ForTool_does_not_confuse_a_tool_with_one_whose_id_it_prefixes() =>
        Assert.Equal(["crm:read"], ScopeSet.Parse("crm:read crm2:read crmx:export").ForTool("crm"));

    [Fact]
    public void Tools_lists_each_named_tool_once() =>
        Assert.Equal(["crm", "github"], ScopeSet.Parse("github:pr.write crm:read crm:export github:repo.read").Tools().Order(StringComparer.Ordinal));
}
