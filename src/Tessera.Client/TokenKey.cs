namespace Tessera.Client;

/// <summary>What a cached token is for: a tool, its normalized scope string, and the mission it belongs to (null outside one).</summary>
internal readonly record struct TokenKey(string Tool, string Scope, string? MissionId)
{
    /// <summary>
    /// The scope parameter for <paramref name="tool"/>: each scope as <c>tool:scope</c> (a bare name gets
    /// the tool's prefix), distinct and ordered, so the same request always has the same cache key.
    /// </summary>
    public static string NormalizeScope(string tool, IEnumerable<string> scopes) =>
        string.Join(' ', scopes
            .Where(s => !string.IsNullOrWhiteSpace(s))
            .Select(s => s.Trim())
            .Select(s => s.Contains(':', StringComparison.Ordinal) ? s : tool + ":" + s)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal));
}
