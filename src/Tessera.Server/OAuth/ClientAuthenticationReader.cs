using System.Text;
using Microsoft.AspNetCore.Http;
using Tessera.Core.Identity;
using Tessera.Core.Limits;
using Tessera.Core.Protocol;

namespace Tessera.Server.OAuth;

/// <summary>Takes the client's authentication out of the request: HTTP Basic, form secret, or client assertion.</summary>
internal static class ClientAuthenticationReader
{
    private static readonly Refusal SeveralMethods = new(RefusalCodes.ClientSeveralMethods,
        OAuthError.InvalidRequest("Use exactly one client authentication method."), "more than one client authentication method");

    private static readonly Refusal UnsupportedAssertion = new(RefusalCodes.ClientAssertionTypeUnsupported,
        OAuthError.InvalidRequest($"client_assertion_type must be {ClientAuthMethods.JwtBearerAssertionType} with a client_assertion."),
        "client_assertion_type unsupported or client_assertion missing");

    public static (ClientAuthenticationAttempt? Credentials, Refusal? Refusal) Read(HttpRequest request, OAuthForm form)
    {
        var source = SourceAddress.From(request.HttpContext.Connection.RemoteIpAddress);
        var header = request.Headers.Authorization.ToString();
        var hasBasic = header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        var hasPostSecret = form.Get("client_secret") is not null;
        var assertion = form.Get("client_assertion");
        var assertionType = form.Get("client_assertion_type");
        var methods = (hasBasic ? 1 : 0) + (hasPostSecret ? 1 : 0) + (assertion is not null || assertionType is not null ? 1 : 0);

        // Reject requests using more than one authentication method (RFC 6749 §2.3).
        if (methods > 1)
        {
            return (null, SeveralMethods);
        }

        if (hasBasic)
        {
            // RFC 6749 §2.3.1: client id and secret are form-url-encoded, then Base64-encoded.
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0)
                {
                    return (new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, null, null, null) { Source = source }, null);
                }

                var id = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
                var secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
                var formId = form.Get("client_id");
                if (formId is not null && formId != id)
                {
                    return (null, new(RefusalCodes.ClientIdMismatch, OAuthError.InvalidRequest("client_id in the form differs from the Authorization header."),
                        "client_id in the form differs from the Authorization header"));
                }

                return (new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, id, secret, null) { Source = source }, null);
            }
            catch (FormatException)
            {
                return (new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretBasic, null, null, null) { Source = source }, null);
            }
        }

        if (hasPostSecret)
        {
            return (new ClientAuthenticationAttempt(ClientAuthMethods.ClientSecretPost, form.Get("client_id"), form.Get("client_secret"), null) { Source = source }, null);
        }

        if (assertion is not null || assertionType is not null)
        {
            // Reject assertions of any type but RFC 7523 JWT bearer.
            if (assertionType != ClientAuthMethods.JwtBearerAssertionType || assertion is null)
            {
                return (null, UnsupportedAssertion);
            }

            return (new ClientAuthenticationAttempt(ClientAuthMethods.PrivateKeyJwt, form.Get("client_id"), null, assertion) { Source = source }, null);
        }

        return (new ClientAuthenticationAttempt("none", form.Get("client_id"), null, null) { Source = source }, null);
    }
}
