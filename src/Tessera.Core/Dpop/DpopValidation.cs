namespace Tessera.Core.Dpop;

/// <summary>
/// The result of checking a DPoP proof: the key's thumbprint, or why it was refused. <see cref="UseNonce"/>
/// marks the one refusal a client fixes by retrying with the server's nonce (<c>use_dpop_nonce</c>).
/// </summary>
public sealed record DpopValidation(string? Jkt, string? Error, bool UseNonce = false)
{
    public bool IsValid => Jkt is not null;

    public static DpopValidation Invalid(string error) => new(null, error);
}
