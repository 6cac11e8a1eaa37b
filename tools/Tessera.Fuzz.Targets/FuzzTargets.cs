namespace Tessera.Fuzz.Targets;

/// <summary>Every fuzz target by the name the fuzzer and the corpus folders use.</summary>
public static class FuzzTargets
{
    public static IReadOnlyDictionary<string, FuzzTarget> ByName { get; } = new Dictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["oauth-form"] = OAuthFormTarget.Run,
        ["proxy-path"] = ProxyPathTarget.Run,
        ["dpop-proof"] = DpopProofTarget.Run,
        ["client-assertion"] = ClientAssertionTarget.Run,
        ["mcp-message"] = McpMessageTarget.Run,
        ["config"] = ConfigTarget.Run,
    };
}
