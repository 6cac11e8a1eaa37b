using System.Collections;

namespace Tessera.Core.Tokens;

/// <summary>
/// An immutable set of <c>&lt;tool&gt;:&lt;scope&gt;</c> strings. The scope algebra of Tessera is
/// intersection only: a granted set is always a subset of each of its inputs, so delegation
/// can never widen. Stored as a sorted, duplicate-free array: sets are a handful of scopes, and a
/// merge over two sorted arrays is cheaper than any tree or hash set at that size.
/// </summary>
public sealed class ScopeSet : IReadOnlyCollection<string>, IEquatable<ScopeSet>
{
    public static readonly ScopeSet Empty = new([]);

    private readonly string[] _scopes;

    private ScopeSet(string[] sortedDistinct) => _scopes = sortedDistinct;

    public static ScopeSet Of(IEnumerable<string> scopes)
    {
        var array = scopes.ToArray();
        if (array.Length == 0)
        {
            return Empty;
        }

        Array.Sort(array, StringComparer.Ordinal);
        var distinct = 1;
        for (var i = 1; i < array.Length; i++)
        {
            if (!string.Equals(array[i], array[distinct - 1], StringComparison.Ordinal))
            {
                array[distinct++] = array[i];
            }
        }

        return new ScopeSet(distinct == array.Length ? array : array[..distinct]);
    }

    /// <summary>Parses a space-delimited RFC 6749 §3.3 scope string; repeated spaces are tolerated.</summary>
    public static ScopeSet Parse(string? text) =>
        string.IsNullOrWhiteSpace(text) ? Empty : Of(text.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    public int Count => _scopes.Length;

    /// <summary>The scope at <paramref name="index"/> in ordinal order (a loop over it allocates no enumerator).</summary>
    public string this[int index] => _scopes[index];
    public bool IsEmpty => _scopes.Length == 0;

    public bool Contains(string scope) => Array.BinarySearch(_scopes, scope, StringComparer.Ordinal) >= 0;

    public ScopeSet Intersect(ScopeSet other)
    {
        if (IsEmpty || other.IsEmpty)
        {
            return Empty;
        }

        Span<int> keep = stackalloc int[_scopes.Length];
        var count = 0;
        int i = 0, j = 0;
        while (i < _scopes.Length && j < other._scopes.Length)
        {
            var c = string.CompareOrdinal(_scopes[i], other._scopes[j]);
            if (c == 0)
            {
                keep[count++] = i;
                i++;
                j++;
            }
            else if (c < 0)
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        if (count == _scopes.Length)
        {
            return this;
        }

        var result = new string[count];
        for (var k = 0; k < count; k++)
        {
            result[k] = _scopes[keep[k]];
        }

        return count == 0 ? Empty : new ScopeSet(result);
    }

    public bool IsSubsetOf(ScopeSet other)
    {
        int i = 0, j = 0;
        while (i < _scopes.Length)
        {
            if (j == other._scopes.Length)
            {
                return false;
            }

            var c = string.CompareOrdinal(_scopes[i], other._scopes[j]);
            if (c == 0)
            {
                i++;
                j++;
            }
            else if (c > 0)
            {
                j++;
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The scopes of one tool (prefix <c>tool:</c>).</summary>
    public ScopeSet ForTool(string toolId)
    {
        var prefix = toolId + ":";
        return Of(_scopes.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)));
    }

    /// <summary>The distinct tool ids named by these scopes.</summary>
    public IReadOnlyList<string> Tools() =>
        _scopes.Select(s => s.IndexOf(':', StringComparison.Ordinal) is var i and > 0 ? s[..i] : s).Distinct(StringComparer.Ordinal).ToList();

    public override string ToString() => string.Join(' ', _scopes);

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_scopes).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(ScopeSet? other) => other is not null && _scopes.AsSpan().SequenceEqual(other._scopes);
    public override bool Equals(object? obj) => obj is ScopeSet s && Equals(s);
    public override int GetHashCode() => _scopes.Aggregate(0, (h, s) => h ^ StringComparer.Ordinal.GetHashCode(s));
}
