namespace Tessera.Core.Mcp;

/// <summary>The three shapes of a JSON-RPC 2.0 message.</summary>
public enum McpMessageKind
{
    /// <summary>A <c>method</c> and an <c>id</c>: answered by the server.</summary>
    Request,

    /// <summary>A <c>method</c> without an <c>id</c>: never answered.</summary>
    Notification,

    /// <summary>An <c>id</c> with a <c>result</c> or an <c>error</c>: the client answering a request of the server's.</summary>
    Response,
}
