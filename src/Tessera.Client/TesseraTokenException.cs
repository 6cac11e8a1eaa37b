namespace Tessera.Client;

/// <summary>
/// Tessera refused a token request (or could not be reached with a valid answer). Carries the OAuth
/// error code and Tessera's description for a person; never a secret or a token.
/// </summary>
public class TesseraTokenException : Exception
{
    /// <summary>Creates the exception for an OAuth error answer.</summary>
    /// <param name="error">The OAuth <c>error</c> code (<c>invalid_scope</c>, <c>invalid_client</c>, ...).</param>
    /// <param name="errorDescription">Tessera's <c>error_description</c>, if any.</param>
    /// <param name="statusCode">The HTTP status of the answer.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public TesseraTokenException(string error, string? errorDescription, int statusCode, Exception? innerException = null)
        : base(errorDescription is null ? $"Tessera refused the token request: {error}." : $"Tessera refused the token request: {error}: {errorDescription}", innerException)
    {
        Error = error;
        ErrorDescription = errorDescription;
        StatusCode = statusCode;
    }

    /// <summary>The OAuth error code (RFC 6749 §5.2 and Tessera's own, e.g. <c>approval_required</c>).</summary>
    public string Error { get; }

    /// <summary>Tessera's description of the refusal, written for a person.</summary>
    public string? ErrorDescription { get; }

    /// <summary>The HTTP status code of the answer (400, 401, 429, 503, ...).</summary>
    public int StatusCode { get; }

    /// <summary>The <c>interval</c> a <c>slow_down</c> answer names (the poll interval to keep from now on), if any.</summary>
    internal TimeSpan? Interval { get; init; }
}
