using System.Buffers.Text;
using System.Text.Json;

namespace Tessera.CrashTest;

/// <summary>The live tokens the load proxies with and revokes: a revocation takes its token out first, so no later call picks it.</summary>
internal sealed class TokenPool
{
    private readonly List<(string Token, string Jti, long IssuedAt)> _tokens = [];

    /// <summary>Tokens older than this are dropped (they expire after five minutes; a refusal of an expired token proves nothing).</summary>
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(2);

    public void Add(string token, string jti)
    {
        lock (_tokens)
        {
            _tokens.Add((token, jti, TimeProvider.System.GetTimestamp()));
        }
    }

    public (string Token, string Jti)? Pick(Random rng, bool take)
    {
        lock (_tokens)
        {
            _tokens.RemoveAll(t => TimeProvider.System.GetElapsedTime(t.IssuedAt) > MaxAge);
            if (_tokens.Count == 0)
            {
                return null;
            }

            var i = rng.Next(_tokens.Count);
            var (token, jti, _) = _tokens[i];
            if (take)
            {
                _tokens.RemoveAt(i);
            }

            return (token, jti);
        }
    }

    /// <summary>The <c>jti</c> of a JWT (its payload is not verified: Tessera signed it a moment ago).</summary>
    public static string JtiOf(string token)
    {
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.Split('.')[1]));
        return payload.RootElement.GetProperty("jti").GetString()!;
    }
}
