namespace Tessera.Core.Posture;

/// <summary>
/// One finding: what is wrong (<see cref="Type"/>, one of <see cref="PostureFindingTypes"/>), how
/// urgent, what it concerns, what was observed and when, and what a person can do about it. Never a
/// secret value, a client secret or a token.
/// </summary>
public sealed record PostureFinding(string Type, PostureSeverity Severity, string Evidence, string Recommendation)
{
    public string? Agent { get; init; }
    public string? Tool { get; init; }
    public string? Scope { get; init; }
    public string? Secret { get; init; }
    public string? Rule { get; init; }
}
