namespace Tessera.Client;

/// <summary>The endpoints of Tessera's RFC 8414 metadata the agent uses.</summary>
internal sealed record AuthorizationServerMetadata(string Issuer, Uri TokenEndpoint, Uri RevocationEndpoint);
