namespace Tessera.Client.AspNetCore;

/// <summary>What introspection said of a token.</summary>
internal enum IntrospectionOutcome
{
    Active,
    Inactive,
    Unavailable,
}
