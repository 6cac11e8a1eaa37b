namespace Tessera.Client.AspNetCore;

/// <summary>
/// The tool's own client at Tessera, used to introspect the tokens it receives (RFC 7662 with
/// <c>client_secret_basic</c>). Tessera answers a tool's client about tokens addressed to that tool
/// when the tool's <c>client_id</c> names this agent in <c>tessera.yaml</c>.
/// </summary>
/// <param name="ClientId">The agent id configured as the tool's <c>client_id</c>.</param>
/// <param name="ClientSecret">That agent's client secret.</param>
public sealed record TesseraIntrospectionClient(string ClientId, string ClientSecret)
{
    /// <summary>Never prints the secret.</summary>
    /// <returns>The client id only.</returns>
    public override string ToString() => $"TesseraIntrospectionClient {{ ClientId = {ClientId} }}";
}
