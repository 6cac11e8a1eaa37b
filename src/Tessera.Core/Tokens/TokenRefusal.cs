using Tessera.Core.Protocol;

namespace Tessera.Core.Tokens;

/// <summary>A token request refused by one rule: the error on the wire and the reason on record.</summary>
internal sealed record TokenRefusal(OAuthError Error, string Reason);
