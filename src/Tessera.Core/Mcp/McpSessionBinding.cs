using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Tessera.Core.Vault;

namespace Tessera.Core.Mcp;

/// <summary>
/// Binds an MCP server's session to the token identity that opened it, without a table (docs/mcp.md,
/// "Sessions"): the agent receives the server's <c>Mcp-Session-Id</c> <c>X</c> as
/// <c>X.&lt;tag&gt;</c>, the tag being HMAC-SHA256 over the tool, the token's <c>client_id</c> and
/// <c>sub</c> and <c>X</c>, truncated to 128 bits, base64url. On every request Tessera checks the tag
/// for the presenting token and forwards <c>X</c> alone; another agent (or the same agent on
/// another principal's behalf) that learns the id cannot use it. The key is derived from the master
/// key, so every node sharing it agrees.
/// </summary>
public sealed class McpSessionBinding
{
    public const string Purpose = "tessera mcp session binding v1";

    /// <summary>The tag's length: 16 bytes in base64url without padding.</summary>
    private const int TagChars = 22;
    private const int TagBytes = 16;

    /// <summary>A session id longer than this is not tagged (and its header not passed on): no server needs one so long.</summary>
    public const int MaxSessionIdLength = 1024;

    private readonly byte[] _key;

    public McpSessionBinding(MasterKey masterKey)
    {
        ArgumentNullException.ThrowIfNull(masterKey);
        _key = masterKey.Derive(Encoding.UTF8.GetBytes(Purpose), Purpose);
    }

    /// <summary>
    /// The session id the agent receives for the server's <paramref name="sessionId"/>; null when the
    /// server's id is not visible ASCII (as MCP requires) or too long, so it is not passed on.
    /// </summary>
    public string? Tag(string tool, string clientId, string subject, string sessionId)
    {
        if (sessionId.Length is 0 or > MaxSessionIdLength || !IsVisibleAscii(sessionId))
        {
            return null;
        }

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(tool, clientId, subject, sessionId, mac);
        return string.Concat(sessionId, ".", Base64Url.EncodeToString(mac[..TagBytes]));
    }

    /// <summary>
    /// The server's session id inside <paramref name="tagged"/> when its tag was made for this tool and
    /// identity; null otherwise (no tag, a truncated or altered one, another agent's, another tool's,
    /// not visible ASCII).
    /// </summary>
    public string? Untag(string tool, string clientId, string subject, string tagged)
    {
        var dot = tagged.LastIndexOf('.');
        if (dot <= 0 || tagged.Length - dot - 1 != TagChars || dot > MaxSessionIdLength || !IsVisibleAscii(tagged))
        {
            return null;
        }

        var sessionId = tagged[..dot];
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(tool, clientId, subject, sessionId, mac);
        Span<byte> expected = stackalloc byte[TagChars];
        Base64Url.EncodeToUtf8(mac[..TagBytes], expected);
        Span<byte> presented = stackalloc byte[TagChars];
        for (var i = 0; i < TagChars; i++)
        {
            presented[i] = (byte)tagged[dot + 1 + i]; // visible ASCII, checked above
        }

        // Compared as text, in constant time: timing reveals no prefix of the tag, and of the four
        // spellings of its last character (two bits carry no data) only the canonical one is accepted.
        return CryptographicOperations.FixedTimeEquals(expected, presented) ? sessionId : null;
    }

    private void Compute(string tool, string clientId, string subject, string sessionId, Span<byte> mac)
    {
        // NUL separates the fields; a field holding one could shift the boundary, so such an identity gets no tag that verifies.
        if (tool.Contains('\0', StringComparison.Ordinal) || clientId.Contains('\0', StringComparison.Ordinal) || subject.Contains('\0', StringComparison.Ordinal))
        {
            RandomNumberGenerator.Fill(mac);
            return;
        }

        var input = string.Join('\0', tool, clientId, subject, sessionId);
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(input), mac);
    }

    private static bool IsVisibleAscii(string text)
    {
        foreach (var c in text)
        {
            if (c is < '\x21' or > '\x7E')
            {
                return false;
            }
        }

        return true;
    }
}
