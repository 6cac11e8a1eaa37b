namespace Tessera.Core.Mcp;

/// <summary>What <see cref="McpListFilter"/> did with one message of an answer.</summary>
public enum McpFilterOutcome
{
    /// <summary>Nothing to hide: the message passes as it came.</summary>
    Unchanged,

    /// <summary>The filtered message was written in its place.</summary>
    Rewritten,

    /// <summary>The message is not JSON Tessera can read unambiguously: nothing of it may pass (fail closed).</summary>
    Refused,
}
