namespace Tessera.Client.Mcp;

/// <summary>
/// The approved calls of the current async flow. While a set is current, the MCP handler sends the
/// matching <c>tools/call</c> with its approved token instead of the connection's token, once; every
/// other request keeps the connection's token. An AsyncLocal because the call is made deep inside
/// the MCP SDK (and, with Microsoft.Extensions.AI, inside the function-invoking chat client), in the
/// flow of whoever set it.
/// </summary>
internal sealed class ApprovedMcpCalls
{
    private static readonly AsyncLocal<ApprovedMcpCalls?> CurrentCalls = new();

    private readonly Lock _lock = new();
    private readonly List<ApprovedMcpCall> _calls;

    private ApprovedMcpCalls(IEnumerable<ApprovedMcpCall> calls) => _calls = [.. calls];

    /// <summary>The set of this async flow, or null (the common case: nothing is looked at).</summary>
    public static ApprovedMcpCalls? Current => CurrentCalls.Value;

    /// <summary>Makes <paramref name="calls"/> current in the caller's flow until the result is disposed.</summary>
    public static IDisposable Enter(IEnumerable<ApprovedMcpCall> calls) => Enter(Create(calls));

    /// <summary>A set not yet current: to enter again and again where an AsyncLocal does not last (across the yields of an async iterator).</summary>
    public static ApprovedMcpCalls Create(IEnumerable<ApprovedMcpCall> calls) => new(calls);

    /// <summary>Makes <paramref name="calls"/> current in the caller's flow until the result is disposed; what was taken from it stays taken.</summary>
    public static IDisposable Enter(ApprovedMcpCalls calls)
    {
        var previous = CurrentCalls.Value;
        CurrentCalls.Value = calls;
        return new Scope(calls, previous);
    }

    /// <summary>The token approved for this call, taken so it is used once; null when none matches.</summary>
    public TesseraToken? Take(string tool, string name, string argumentsSha256)
    {
        lock (_lock)
        {
            var at = _calls.FindIndex(c => c.Tool == tool && c.Name == name && c.ArgumentsSha256 == argumentsSha256);
            if (at < 0)
            {
                return null;
            }

            var call = _calls[at];
            _calls.RemoveAt(at);
            return call.Token;
        }
    }

    private sealed class Scope(ApprovedMcpCalls entered, ApprovedMcpCalls? previous) : IDisposable
    {
        public void Dispose()
        {
            if (ReferenceEquals(CurrentCalls.Value, entered))
            {
                CurrentCalls.Value = previous;
            }
        }
    }
}
