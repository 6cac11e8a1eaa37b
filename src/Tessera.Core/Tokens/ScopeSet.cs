using System.Collections;
using System.Collections.Immutable;

namespace Tessera.Core.Tokens;

/// <summary>
/// An immutable set of <c>&lt;tool&gt;:&lt;scope&gt;</c> strings. The scope algebra of Tessera is
/// intersection only: a granted set is always a subset of each of its inputs, so delegation
/// can never widen.
/// </summary>
public sealed class ScopeSet : IReadOnlyCollection<string>, IEquatable<ScopeSet>
{
    public static readonly ScopeSet Empty = new(ImmutableSortedSet<string>.Empty);

    private readonly ImmutableSortedSet<string> _scopes;

    private ScopeSet(ImmutableSortedSet<string> scopes) => _scopes = scopes;

    public static ScopeSet Of(IEnumerable<string> scopes) => new(scopes.ToImmutableSortedSet(StringComparer.Ordinal));

    /// <summary>Parses a space-delimited RFC 6749 §3.3 scope string; repeated spaces are tolerated.</summary>
    public static ScopeSet Parse(string? text) =>
        string.IsNullOrWhiteSpace(text) ? Empty : Of(text.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    public int Count => _scopes.Count;
    public bool IsEmpty => _scopes.IsEmpty;

    public bool Contains(string scope) => _scopes.Contains(scope);

    public ScopeSet Intersect(ScopeSet other) => new(_scopes.Intersect(other._scopes));

    public bool IsSubsetOf(ScopeSet other) => _scopes.IsSubsetOf(other._scopes);

    /// <summary>The scopes of one tool (prefix <c>tool:</c>).</summary>
    public ScopeSet ForTool(string toolId)
    {
        var prefix = toolId + ":";
        return new(_scopes.Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).ToImmutableSortedSet(StringComparer.Ordinal));
    }

    /// <summary>The distinct tool ids named by these scopes.</summary>
    public IReadOnlyList<string> Tools() =>
        _scopes.Select(s => s.IndexOf(':', StringComparison.Ordinal) is var i and > 0 ? s[..i] : s).Distinct(StringComparer.Ordinal).ToList();

    public override string ToString() => string.Join(' ', _scopes);

    public IEnumerator<string> GetEnumerator() => _scopes.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Equals(ScopeSet? other) => other is not null && _scopes.SetEquals(other._scopes);
    public override bool Equals(object? obj) => obj is ScopeSet s && Equals(s);
    public override int GetHashCode() => _scopes.Aggregate(0, (h, s) => h ^ StringComparer.Ordinal.GetHashCode(s));
}
