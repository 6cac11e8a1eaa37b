namespace Tessera.Core.Posture;

/// <summary>A scope as granted to one agent, the key of its last-granted counter.</summary>
public readonly record struct AgentScope(string Agent, string Scope);
