using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Tessera.Core.Configuration;

/// <summary>
/// Turns an inline YAML value (an agent's <c>jwks</c>) into JSON text for the JWK parser. YAML
/// aliases are references: a node may contain itself, or a few lines may name millions of values,
/// so depth and size are bounded and a mistake is reported at the value's path, never as a crash.
/// </summary>
internal static class YamlToJson
{
    /// <summary>A JWKS is an object holding a list of flat key objects: three levels, with room to spare.</summary>
    private const int MaxDepth = 16;

    /// <summary>Far more values than any key set holds (a JWK has a dozen members).</summary>
    private const int MaxNodes = 10_000;

    public static string Convert(YamlCursor value)
    {
        var budget = MaxNodes;
        return ToJson(value, value.Node!, 0, ref budget)?.ToJsonString() ?? "null";
    }

    private static JsonNode? ToJson(YamlCursor at, YamlNode node, int depth, ref int budget)
    {
        if (depth > MaxDepth)
        {
            throw at.Error($"is nested too deeply (more than {MaxDepth} levels; does an alias refer to itself?)");
        }

        if (--budget < 0)
        {
            throw at.Error($"is too large (more than {MaxNodes} values once aliases are expanded)");
        }

        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (key, value) in map.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw at.Error("keys must be plain text");
                    }

                    obj[name] = ToJson(at, value, depth + 1, ref budget);
                }

                return obj;
            case YamlSequenceNode seq:
                var array = new JsonArray();
                foreach (var item in seq.Children)
                {
                    array.Add(ToJson(at, item, depth + 1, ref budget));
                }

                return array;
            case YamlScalarNode s:
                return JsonValue.Create(s.Value);
            default:
                return null;
        }
    }
}
