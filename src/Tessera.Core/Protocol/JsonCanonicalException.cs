namespace Tessera.Core.Protocol;

/// <summary>Thrown by <see cref="JsonCanonical.Canonicalize"/> and <see cref="JsonCanonical.Sha256Hex"/> for a value they refuse.</summary>
public sealed class JsonCanonicalException : Exception
{
    public JsonCanonicalException()
    {
    }

    public JsonCanonicalException(string message)
        : base(message)
    {
    }

    public JsonCanonicalException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public JsonCanonicalException(JsonCanonicalRefusal refusal)
        : base($"The JSON value has no RFC 8785 canonical form: {refusal}.") => Refusal = refusal;

    /// <summary>Why the value was refused.</summary>
    public JsonCanonicalRefusal Refusal { get; }
}
