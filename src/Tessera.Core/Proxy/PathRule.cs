using System.Numerics;

namespace Tessera.Core.Proxy;

/// <summary>
/// One rule of a tool scope, <c>METHOD /path/pattern</c> (docs/reference/configuration.md): <c>*</c> matches exactly one
/// path segment, <c>**</c> zero or more; methods and paths are case-sensitive; <c>*</c> as the method
/// matches any. Matching runs on an already normalized path (no <c>.</c>/<c>..</c>, no empty segments).
/// Written by hand because it is our policy language, and it runs on every proxied request.
/// </summary>
/// <remarks>
/// Matching walks the path once, left to right, carrying the set of pattern positions that the path
/// so far can stand at (a pattern of <c>*</c>, <c>**</c> and literals is a small automaton). Each path
/// segment is compared with each pattern segment at most once, so the work is at most
/// (pattern segments + 1) × (path segments + 1) steps, whatever the path: a search that backtracks
/// over the ways <c>**</c> can split a path costs the path length to the power of the number of
/// <c>**</c>, seconds of CPU for one refusal of a crafted path.
/// </remarks>
public sealed class PathRule
{
    private readonly string? _method;
    private readonly string[] _segments;
    private readonly Segment[] _kinds;

    /// <summary>For rules of fewer than 64 segments: the bits of the <c>**</c> segments, and of a final empty segment.</summary>
    private readonly ulong _any;
    private readonly ulong _emptyLast;

    private PathRule(string text, string? method, string[] segments)
    {
        Text = text;
        _method = method;
        _segments = segments;
        _kinds = [.. segments.Select(s => s switch { "**" => Segment.Any, "*" => Segment.One, _ => Segment.Literal })];
        if (segments.Length < 64)
        {
            for (var i = 0; i < segments.Length; i++)
            {
                _any |= _kinds[i] == Segment.Any ? 1UL << i : 0;
            }

            _emptyLast = segments.Length > 0 && IsEmptyLiteral(segments.Length - 1) ? 1UL << (segments.Length - 1) : 0;
        }
    }

    public string Text { get; }

    /// <summary>Parses a rule already validated by the configuration loader.</summary>
    public static PathRule Parse(string rule)
    {
        var space = rule.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || space + 1 >= rule.Length || rule[space + 1] != '/')
        {
            throw new FormatException($"'{rule}' is not METHOD /path");
        }

        var method = rule[..space];
        var path = rule[(space + 2)..];
        return new PathRule(rule, method == "*" ? null : method, path.Length == 0 ? [] : path.Split('/'));
    }

    public bool Matches(string method, string normalizedPath) => Matches(method, normalizedPath, out _);

    /// <param name="method">The request method.</param>
    /// <param name="normalizedPath">The normalized request path.</param>
    /// <param name="steps">How many (pattern segment, path segment) pairs were compared: the work done, for tests.</param>
    internal bool Matches(string method, string normalizedPath, out int steps)
    {
        steps = 0;
        if (_method is not null && !string.Equals(_method, method, StringComparison.Ordinal))
        {
            return false;
        }

        if (normalizedPath.Length == 0 || normalizedPath[0] != '/')
        {
            return false;
        }

        return Match(normalizedPath.AsSpan(1), ref steps);
    }

    private bool Match(ReadOnlySpan<char> rest, ref int steps) =>
        _segments.Length < 64 ? MatchInOneWord(rest, ref steps) : MatchInWords(rest, ref steps);

    /// <summary>
    /// The walk for rules of fewer than 64 segments (all real ones): bit i of a set means the path read
    /// so far can stand before pattern segment i; bit <c>Count</c>, after the whole pattern.
    /// </summary>
    private bool MatchInOneWord(ReadOnlySpan<char> rest, ref int steps)
    {
        var segments = _segments;
        var kinds = _kinds;
        var any = _any;
        var end = 1UL << segments.Length;
        var current = SkipEmptyAny(1UL, any);
        while (!rest.IsEmpty)
        {
            var slash = rest.IndexOf('/');
            var segment = slash >= 0 ? rest[..slash] : rest;
            rest = slash >= 0 ? rest[(slash + 1)..] : [];

            // Reject a trailing slash the pattern does not have: the segment before it cannot end the pattern.
            var unreachable = slash >= 0 && rest.IsEmpty ? end : 0;
            var next = 0UL;
            for (var bits = current & (end - 1); bits != 0; bits &= bits - 1)
            {
                steps++;
                var i = BitOperations.TrailingZeroCount(bits);
                var bit = 1UL << i;
                switch (kinds[i])
                {
                    case Segment.Any:
                        // ** reads this segment and stays, so it can read more.
                        next |= bit;
                        break;
                    case Segment.One:
                        next |= segment.IsEmpty ? 0 : bit << 1;
                        break;
                    default:
                        next |= segment.SequenceEqual(segments[i]) ? bit << 1 : 0;
                        break;
                }
            }

            next &= ~unreachable;
            if (next == 0)
            {
                return false;
            }

            current = SkipEmptyAny(next, any);
        }

        return (current & (end | _emptyLast)) != 0;
    }

    /// <summary>The same walk as <see cref="MatchInOneWord"/> for longer rules, with sets of several words.</summary>
    private bool MatchInWords(ReadOnlySpan<char> rest, ref int steps)
    {
        var count = _segments.Length;
        var words = (count >> 6) + 1;
        Span<ulong> current = new ulong[words];
        Span<ulong> next = new ulong[words];
        current[0] = 1;
        SkipEmptyAny(current);
        var offset = 0;
        while (offset < rest.Length)
        {
            var slash = rest[offset..].IndexOf('/');
            var segment = slash >= 0 ? rest.Slice(offset, slash) : rest[offset..];
            var nextOffset = slash >= 0 ? offset + slash + 1 : rest.Length;
            next.Clear();
            var alive = false;
            for (var w = 0; w < words; w++)
            {
                for (var bits = current[w]; bits != 0; bits &= bits - 1)
                {
                    var i = (w << 6) + BitOperations.TrailingZeroCount(bits);
                    if (i < count)
                    {
                        steps++;
                        var to = Read(i, segment, slash >= 0 && nextOffset == rest.Length);
                        if (to >= 0)
                        {
                            Set(next, to);
                            alive = true;
                        }
                    }
                }
            }

            if (!alive)
            {
                return false;
            }

            var swap = current;
            current = next;
            next = swap;
            SkipEmptyAny(current);
            offset = nextOffset;
        }

        return Has(current, count) || (IsEmptyLiteral(count - 1) && Has(current, count - 1));
    }

    /// <summary>
    /// Where pattern segment <paramref name="i"/> goes on reading <paramref name="segment"/>: a
    /// <c>**</c> stays (it can read more), a matching <c>*</c> or literal moves on, anything else is a
    /// dead end (-1).
    /// </summary>
    /// <param name="i">The pattern segment.</param>
    /// <param name="segment">The path segment it reads.</param>
    /// <param name="beforeTrailingSlash">The path ends with a slash right after this segment.</param>
    private int Read(int i, ReadOnlySpan<char> segment, bool beforeTrailingSlash)
    {
        switch (_kinds[i])
        {
            case Segment.Any:
                return i;
            case Segment.One when !segment.IsEmpty:
            case Segment.Literal when segment.SequenceEqual(_segments[i]):
                // Reject a trailing slash the pattern does not have: the segment before it cannot end the pattern.
                return beforeTrailingSlash && i + 1 == _segments.Length ? -1 : i + 1;
            default:
                return -1;
        }
    }

    /// <summary>A <c>**</c> may read no segment: whoever stands before it also stands after it.</summary>
    private static ulong SkipEmptyAny(ulong set, ulong any)
    {
        for (var more = (set & any) << 1; (more & ~set) != 0; more = (set & any) << 1)
        {
            set |= more;
        }

        return set;
    }

    /// <summary>The same as <see cref="SkipEmptyAny(ulong, ulong)"/> on a set of several words (in ascending order, so runs of <c>**</c> close in one pass).</summary>
    private void SkipEmptyAny(Span<ulong> set)
    {
        for (var i = 0; i < _kinds.Length; i++)
        {
            if (_kinds[i] == Segment.Any && Has(set, i))
            {
                Set(set, i + 1);
            }
        }
    }

    /// <summary>Whether pattern segment <paramref name="i"/> is empty: the pattern's own trailing slash, which the end of the path matches.</summary>
    private bool IsEmptyLiteral(int i) => _kinds[i] == Segment.Literal && _segments[i].Length == 0;

    private static bool Has(Span<ulong> set, int i) => (set[i >> 6] & (1UL << (i & 63))) != 0;

    private static void Set(Span<ulong> set, int i) => set[i >> 6] |= 1UL << (i & 63);

    private enum Segment : byte
    {
        Literal,
        One,
        Any,
    }
}
