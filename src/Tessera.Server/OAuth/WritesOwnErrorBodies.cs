namespace Tessera.Server.OAuth;

/// <summary>
/// Endpoint metadata: the endpoint answers every error with its own body (RFC 6749 JSON), so the
/// status-code-pages middleware has nothing to add and is skipped for it. That middleware showed in
/// profiles of the token endpoint for no effect.
/// </summary>
internal sealed class WritesOwnErrorBodies
{
    public static readonly WritesOwnErrorBodies Instance = new();

    private WritesOwnErrorBodies()
    {
    }
}
