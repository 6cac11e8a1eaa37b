using System.Buffers.Text;
using System.Text.Json;

namespace Tessera.CrashTest;

/// <summary>The live tokens the load proxies with and revokes: a revocation takes its token out first, so no later call picks it.</summary>
internal sealed class TokenPool
{
    private readonly List<(string Token, string Jti, string? Mission, long IssuedAt)> _tokens = [];

    /// <summary>Tokens older than this are dropped (they expire after five minutes; a refusal of an expired token proves nothing).</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(2);

    public void Add(string token, string jti, string? mission = null)
    {
        lock (_tokens)
        {
            _tokens.Add((token, jti, mission, TimeProvider.System.GetTimestamp()));
        }
    }

    /// <summary>A random live token (with <paramref name="ofMission"/>, one that carries a mission), taken out of the pool when <paramref name="take"/>.</summary>
    public (string Token, string Jti, string? Mission)? Pick(Random rng, bool take, bool ofMission = false)
    {
        lock (_tokens)
        {
            _tokens.RemoveAll(t => TimeProvider.System.GetElapsedTime(t.IssuedAt) > MaxAge);
            var candidates = Enumerable.Range(0, _tokens.Count).Where(i => !ofMission || _tokens[i].Mission is not null).ToList();
            if (candidates.Count == 0)
            {
                return null;
            }

            var i = candidates[rng.Next(candidates.Count)];
            var (token, jti, mission, _) = _tokens[i];
            if (take)
            {
                _tokens.RemoveAt(i);
            }

            return (token, jti, mission);
        }
    }

    /// <summary>The <c>jti</c> and <c>mission</c> of a JWT (its payload is not verified: Tessera signed it a moment ago).</summary>
    public static (string Jti, string? Mission) ClaimsOf(string token)
    {
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]));
        var root = payload.RootElement;
        return (root.GetProperty("jti").GetString()!, root.TryGetProperty("mission", out var m) ? m.GetString() : null);
    }
}
