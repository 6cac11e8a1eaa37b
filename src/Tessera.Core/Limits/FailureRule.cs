namespace Tessera.Core.Limits;

/// <summary>One limit, a token bucket of failures.</summary>
/// <param name="Counted">What is counted, for whom (<c>{0}</c>), as the audit log says it: "failed client authentications from {0}".</param>
/// <param name="Others">Who <c>{0}</c> is for the keys beyond the tracked maximum, which share one allowance.</param>
/// <param name="Allowance">The allowance in words: "60 per minute".</param>
/// <param name="Capacity">How many failures at once.</param>
/// <param name="PerSecond">How fast the allowance comes back.</param>
/// <param name="Refusal">What a refused caller is told.</param>
internal sealed record FailureRule(string Counted, string Others, string Allowance, int Capacity, double PerSecond, string Refusal);
