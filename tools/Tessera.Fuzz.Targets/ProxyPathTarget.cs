using System.Text;
using Tessera.Core.Proxy;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// The proxy's path normalizer: any path gives a normalized path or a refusal, and a normalized path is a
/// fixed point (normalizing what is forwarded gives the same path), so an upstream cannot read it otherwise.
/// </summary>
internal static class ProxyPathTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        // Kestrel hands the proxy the raw target as Latin-1 characters, one per byte.
        var raw = Encoding.Latin1.GetString(input);
        var path = ProxyPath.Normalize(raw, out var refusal);
        if ((path is null) == (refusal is null))
        {
            throw new InvalidOperationException("ProxyPath.Normalize must give exactly one of a path and a refusal");
        }

        if (path is not null && path != ProxyPath.Endpoint)
        {
            var again = ProxyPath.Normalize(path.Encoded, out var second);
            if (again is null || again.Path != path.Path || again.Encoded != path.Encoded)
            {
                throw new InvalidOperationException($"the forwarded path does not normalize to itself ({second ?? "a different path"})");
            }
        }
    }
}
