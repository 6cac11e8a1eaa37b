namespace Tessera.Core.Proxy;

/// <summary>
/// Finds the credential Tessera injected into an upstream request in what the upstream answers: a
/// response header that carries it (an echo or debug header, a cookie) would hand the tool's secret to
/// the agent, which must never hold it. Only header values are checked; bodies are not inspected.
/// </summary>
public static class CredentialEcho
{
    private const string Placeholder = "{secret}";

    /// <summary>
    /// Where the raw secret sits in the injected header value built from <paramref name="format"/> (its
    /// first <c>{secret}</c>; the whole value when there is no format). A header containing the whole
    /// value also contains the secret, so looking for the secret finds both.
    /// </summary>
    public static Range SecretIn(string headerValue, string? format)
    {
        if (format is null)
        {
            return Range.All;
        }

        var start = format.IndexOf(Placeholder, StringComparison.Ordinal);
        var count = 0;
        for (var i = start; i >= 0; i = format.IndexOf(Placeholder, i + Placeholder.Length, StringComparison.Ordinal))
        {
            count++;
        }

        // Every {secret} was replaced by the same secret: value = literal text + count × secret.
        if (start < 0 || count == 0)
        {
            return Range.All;
        }

        var length = (headerValue.Length - (format.Length - count * Placeholder.Length)) / count;
        return length > 0 ? new Range(start, start + length) : Range.All;
    }

    /// <summary>
    /// Whether <paramref name="text"/> contains <paramref name="secret"/>. Every position is compared in
    /// full, without stopping at the first differing character or the first match, so the time taken
    /// depends on the two lengths only (an agent that can make an upstream echo its guesses learns
    /// nothing from how long the check took). An empty secret is never looked for.
    /// </summary>
    public static bool Contains(ReadOnlySpan<char> text, ReadOnlySpan<char> secret)
    {
        if (secret.IsEmpty || text.Length < secret.Length)
        {
            return false;
        }

        var found = 0;
        for (var i = 0; i <= text.Length - secret.Length; i++)
        {
            var window = text.Slice(i, secret.Length);
            var difference = 0;
            for (var j = 0; j < secret.Length; j++)
            {
                difference |= window[j] ^ secret[j];
            }

            // 1 when difference is 0, else 0, without a branch on the data.
            found |= (int)((uint)(difference - 1) >> 31);
        }

        return found != 0;
    }
}
