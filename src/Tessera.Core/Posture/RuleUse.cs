namespace Tessera.Core.Posture;

/// <summary>One rule of one tool scope, as the usage counters key the last time a request matched it.</summary>
public readonly record struct RuleUse(string Scope, string Rule);
