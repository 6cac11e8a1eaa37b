namespace Tessera.Core.Posture;

/// <summary>The written names of <see cref="PostureSeverity"/> (<c>low</c>, <c>medium</c>, <c>high</c>), as the report and <c>--fail-on</c> spell them.</summary>
public static class PostureSeverities
{
    public static string Name(PostureSeverity severity) => severity switch
    {
        PostureSeverity.High => "high",
        PostureSeverity.Medium => "medium",
        _ => "low",
    };

    /// <summary>Reads a written severity; null for anything else (the caller refuses it).</summary>
    public static PostureSeverity? Parse(string? text) => text switch
    {
        "high" => PostureSeverity.High,
        "medium" => PostureSeverity.Medium,
        "low" => PostureSeverity.Low,
        _ => null,
    };
}
