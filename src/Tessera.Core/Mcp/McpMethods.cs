namespace Tessera.Core.Mcp;

/// <summary>
/// What Tessera knows of MCP's JSON-RPC methods: which need only a valid token (the session's
/// lifecycle), which name a target a rule's pattern is matched against, and which answers it filters.
/// </summary>
public static class McpMethods
{
    public const string Initialize = "initialize";
    public const string Ping = "ping";

    /// <summary>The 2026-07-28 protocol's first message, in place of <c>initialize</c>: what the server supports.</summary>
    public const string ServerDiscover = "server/discover";

    /// <summary>The 2026-07-28 protocol's stream of the server's notifications, in place of the GET stream.</summary>
    public const string SubscriptionsListen = "subscriptions/listen";
    public const string ToolsList = "tools/list";
    public const string ToolsCall = "tools/call";
    public const string PromptsList = "prompts/list";
    public const string PromptsGet = "prompts/get";
    public const string ResourcesList = "resources/list";
    public const string ResourcesRead = "resources/read";
    public const string ResourceTemplatesList = "resources/templates/list";
    public const string ResourcesSubscribe = "resources/subscribe";
    public const string ResourcesUnsubscribe = "resources/unsubscribe";

    /// <summary>The metric label of methods outside <see cref="Known"/>: a hostile body must not mint label values.</summary>
    public const string Other = "other";

    /// <summary>The methods a metric names by name; the longest method name Tessera accepts at all.</summary>
    public const int MaxMethodLength = 128;

    private static readonly HashSet<string> Known =
    [
        Initialize, Ping, ServerDiscover, SubscriptionsListen, ToolsList, ToolsCall, PromptsList, PromptsGet, ResourcesList, ResourcesRead, ResourceTemplatesList,
        ResourcesSubscribe, ResourcesUnsubscribe, "completion/complete", "logging/setLevel", "notifications/initialized",
        "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed",
    ];

    /// <summary>
    /// Messages that set up, keep or end the session rather than act: <c>initialize</c> (or
    /// <c>server/discover</c>), <c>ping</c>, every notification, and the stream of the server's
    /// notifications (<c>subscriptions/listen</c>, as a GET is). They need a valid token for the tool
    /// and no rule, and spend no use.
    /// </summary>
    public static bool IsLifecycle(string method) =>
        method is Initialize or Ping or ServerDiscover or SubscriptionsListen || method.StartsWith("notifications/", StringComparison.Ordinal);

    /// <summary>What a rule's pattern is matched against for <paramref name="method"/>, or <see cref="McpTarget.None"/>.</summary>
    public static McpTarget TargetOf(string method) => method switch
    {
        ToolsCall or PromptsGet => McpTarget.Name,
        ResourcesRead or ResourcesSubscribe or ResourcesUnsubscribe => McpTarget.Uri,
        _ => McpTarget.None,
    };

    /// <summary>
    /// The label a metric uses for a request to an MCP tool: the message's method when it is one MCP
    /// defines, else <see cref="Other"/>; the HTTP method for a GET (the server's stream) or a DELETE
    /// (the session's end). Bounded, so a hostile body cannot mint label values.
    /// </summary>
    public static string MetricLabel(string httpMethod, string? method) => httpMethod switch
    {
        "GET" => "GET",
        "DELETE" => "DELETE",
        _ => method is not null && Known.Contains(method) ? method : Other,
    };
}
