namespace Tessera.Core.Posture;

/// <summary>How urgent a finding is; ordered, so <c>--fail-on medium</c> fails on medium and high.</summary>
public enum PostureSeverity
{
    Low = 1,
    Medium = 2,
    High = 3,
}
