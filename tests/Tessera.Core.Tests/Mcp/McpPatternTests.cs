using System.Text.RegularExpressions;
using CsCheck;

namespace Tessera.Core.Tests.Mcp;

public sealed class McpPatternTests
{
    [Theory]
    [InlineData("search", "search", true)]
    [InlineData("search", "searc", false)]
    [InlineData("search", "search2", false)]
    [InlineData("search", "xsearch", false)]
    [InlineData("search_*", "search_issues", true)]
    [InlineData("search_*", "search_", true)]
    [InlineData("search_*", "search", false)]
    [InlineData("search_*", "search_a/b", false)]
    [InlineData("*", "anything-at-all", true)]
    [InlineData("*", "a/b", false)]
    [InlineData("**", "a/b/c", true)]
    [InlineData("*_issue", "create_issue", true)]
    [InlineData("*_issue", "create_issue_now", false)]
    [InlineData("repo://acme/widgets/**", "repo://acme/widgets/readme.md", true)]
    [InlineData("repo://acme/widgets/**", "repo://acme/widgets/src/deep/file.cs", true)]
    [InlineData("repo://acme/widgets/**", "repo://acme/widgets/", true)]
    [InlineData("repo://acme/widgets/**", "repo://acme/widgets", false)]
    [InlineData("repo://acme/widgets/**", "repo://acme/gadgets/readme.md", false)]
    [InlineData("repo://acme/widgets/**", "repo://acme/widgets-evil/readme.md", false)]
    [InlineData("repo://acme/*/readme.md", "repo://acme/widgets/readme.md", true)]
    [InlineData("repo://acme/*/readme.md", "repo://acme/a/b/readme.md", false)]
    [InlineData("repo://acme/**/readme.md", "repo://acme/a/b/readme.md", true)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "axxbyyc", true)]
    [InlineData("a*b*c", "axxbyy", false)]
    [InlineData("a**", "a", true)]
    [InlineData("*/**", "x/", true)]
    [InlineData("*/**", "x", false)]
    public void A_pattern_matches_the_whole_text_with_star_inside_a_segment_and_double_star_across(string pattern, string text, bool expected) =>
        Assert.Equal(expected, Parse(pattern).Matches(text));

    [Theory]
    [InlineData("search")]
    [InlineData("*")]
    [InlineData("**")]
    [InlineData("a*")]
    public void Empty_text_matches_only_a_pattern_that_can_match_nothing(string pattern) =>
        Assert.Equal(pattern is "*" or "**", Parse(pattern).Matches(""));

    [Theory]
    [InlineData("Search", "search")]
    [InlineData("search", "SEARCH")]
    [InlineData("search_*", "Search_issues")]
    [InlineData("repo://Acme/**", "repo://acme/x")]
    public void Matching_is_case_sensitive(string pattern, string text) =>
        Assert.False(Parse(pattern).Matches(text));

    [Fact]
    public void A_character_that_Tessera_uses_inside_the_pattern_is_an_ordinary_character_of_the_text()
    {
        // The tokens of a parsed pattern are private-use characters: text holding them must not act as a star.
        Assert.False(Parse("a").Matches("\uE000"));
        Assert.False(Parse("ab").Matches("a\uE001"));
        Assert.True(Parse("*").Matches("\uE000\uE001"));
        Assert.False(Parse("*").Matches("\uE000/"));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("search issues", "space")]
    [InlineData("search\tissues", "space")]
    [InlineData("search\nissues", "space")]
    [InlineData("search\u0000", "control")]
    [InlineData("search\u007f", "control")]
    [InlineData("search\u00a0x", "space")]
    [InlineData("a***", "'***'")]
    [InlineData("***", "'***'")]
    [InlineData("a/****/b", "'***'")]
    [InlineData("a\uE000b", "control")]
    public void A_pattern_that_is_not_one_is_refused_with_why(string text, string problemPart)
    {
        Assert.Null(McpPattern.Parse(text, out var problem));
        Assert.NotNull(problem);
        Assert.Contains(problemPart, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pattern_up_to_the_longest_is_accepted_and_one_longer_is_refused()
    {
        Assert.NotNull(McpPattern.Parse(new string('a', McpPattern.MaxLength), out _));
        Assert.Null(McpPattern.Parse(new string('a', McpPattern.MaxLength + 1), out var problem));
        Assert.Contains("longer than 512", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pattern_keeps_its_text()
    {
        var pattern = Parse("repo://acme/**");
        Assert.Equal("repo://acme/**", pattern.Text);
        Assert.Equal("repo://acme/**", pattern.ToString());
    }

    [Fact]
    public void Matching_agrees_with_a_regular_expression_built_from_the_pattern() =>
        Gen.Select(Gen.Char["ab/*"].Array[1, 8], Gen.Char["ab/"].Array[0, 10]).Sample((p, t) =>
        {
            var text = new string(p);
            var pattern = McpPattern.Parse(text, out _);
            if (pattern is null)
            {
                // Only '***' is refused from this alphabet.
                return text.Contains("***", StringComparison.Ordinal);
            }

            var subject = new string(t);
            return pattern.Matches(subject) == Reference(text).IsMatch(subject);
        }, iter: 50_000);

    [Fact]
    public void Matching_agrees_with_the_reference_for_long_patterns_beyond_the_stack_buffer() =>
        Gen.Select(Gen.Char["ab/*"].Array[250, 400], Gen.Char["ab/"].Array[0, 500]).Sample((p, t) =>
        {
            var text = new string(p);
            if (McpPattern.Parse(text, out _) is not { } pattern)
            {
                return text.Contains("***", StringComparison.Ordinal);
            }

            var subject = new string(t);
            return pattern.Matches(subject) == Reference(text).IsMatch(subject);
        }, iter: 500);

    [Fact]
    public void A_hostile_text_against_many_stars_is_matched_in_one_pass()
    {
        // A backtracking glob takes text length to the power of the stars here; the automaton one pass.
        var pattern = Parse("*a*a*a*a*a*a*a*b");
        var text = new string('a', 4_000);

        Assert.False(pattern.Matches(text));
        Assert.True(pattern.Matches(text + "b"));
        Assert.False(Parse("**a**a**a**a**a**a**a**b").Matches(text + "/"));
    }

    private static McpPattern Parse(string text) => McpPattern.Parse(text, out var problem) ?? throw new InvalidOperationException(problem);

    /// <summary>The pattern language as a regular expression: the specification the automaton must agree with.</summary>
    private static Regex Reference(string pattern)
    {
        var regex = new System.Text.StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '*')
            {
                regex.Append(Regex.Escape(pattern[i].ToString()));
            }
            else if (i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                regex.Append("(?s:.*)");
                i++;
            }
            else
            {
                regex.Append("[^/]*");
            }
        }

        return new Regex(regex.Append(@"\z").ToString(), RegexOptions.CultureInvariant);
    }
}
