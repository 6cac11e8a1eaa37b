using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Tessera.Core.Configuration;

/// <summary>Turns an inline YAML value (an agent's <c>jwks</c>) into JSON text for the JWK parser.</summary>
internal static class YamlToJson
{
    public static string Convert(YamlNode node) => ToJson(node)?.ToJsonString() ?? "null";

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode s => JsonValue.Create(s.Value),
        _ => null,
    };
}
