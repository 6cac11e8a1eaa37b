using System.Text.Json;

namespace Tessera.Client.Mcp;

/// <summary>The <c>arguments_sha256</c> of an MCP tool call, as Tessera binds an exact-call approval to it.</summary>
public static class McpArguments
{
    /// <summary>SHA-256 of <c>{}</c>: the hash of a call without arguments.</summary>
    public const string NoArgumentsSha256 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    /// <summary>
    /// The lower-case hex SHA-256 of the RFC 8785 (JCS) canonical form of <paramref name="arguments"/>
    /// (an MCP call's <c>params.arguments</c>), the <c>arguments_sha256</c> of a <c>tessera_mcp_call</c>
    /// authorization detail.
    /// </summary>
    /// <param name="arguments">The arguments object.</param>
    /// <exception cref="ArgumentException">They have no single canonical form (a number a double rounds, a lone surrogate, a duplicate member, over 64 levels): Tessera would refuse the call.</exception>
    public static string Sha256(JsonElement arguments) =>
        Jcs.TrySha256Hex(arguments, out var refusal) ?? throw new ArgumentException($"The arguments have no single canonical form: {refusal}.", nameof(arguments));
}
