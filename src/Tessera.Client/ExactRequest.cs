using System.Security.Cryptography;
using System.Text.Json;

namespace Tessera.Client;

/// <summary>
/// The hashes an exact-request approval is bound to, computed as Tessera computes them: the
/// <c>body_sha256</c> of a <c>tessera_request</c> authorization detail, and the <c>arguments_sha256</c>
/// of an MCP tool call (<c>tessera_mcp_call</c>).
/// </summary>
public static class ExactRequest
{
    /// <summary>The SHA-256 of a request body, in lower-case hex (as the proxy compares it with the bytes it receives).</summary>
    /// <param name="body">The exact bytes that will be sent.</param>
    public static string BodySha256(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>
    /// The SHA-256, in lower-case hex, of the RFC 8785 canonical form (JCS) of an MCP tool call's
    /// <c>params.arguments</c>: the same arguments hash the same however they are spelled.
    /// </summary>
    /// <param name="arguments">The call's arguments (an object; use <c>{}</c> for a call without arguments).</param>
    /// <exception cref="ArgumentException">The arguments have no single canonical form, so Tessera would refuse them: a number a double does not hold exactly, a lone surrogate, two members of one name, nesting deeper than 64.</exception>
    public static string McpArgumentsSha256(JsonElement arguments) => Convert.ToHexStringLower(SHA256.HashData(Jcs.Canonicalize(arguments, exactNumbers: true)));
}
