using System.Collections.Concurrent;

namespace Tessera.Client;

/// <summary>The latest DPoP nonce each origin gave (RFC 9449 §8–9), used in the next proof to it.</summary>
internal sealed class DpopNonceStore
{
    private readonly ConcurrentDictionary<string, string> _byOrigin = new(StringComparer.OrdinalIgnoreCase);

    public string? For(Uri uri) => _byOrigin.TryGetValue(OriginOf(uri), out var nonce) ? nonce : null;

    /// <summary>Keeps the <c>DPoP-Nonce</c> of <paramref name="response"/>, if it carries one.</summary>
    public bool Remember(Uri uri, HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("DPoP-Nonce", out var values) && values.FirstOrDefault() is { Length: > 0 and <= 1024 } nonce)
        {
            _byOrigin[OriginOf(uri)] = nonce;
            return true;
        }

        return false;
    }

    private static string OriginOf(Uri uri) => uri.GetLeftPart(UriPartial.Authority);
}
