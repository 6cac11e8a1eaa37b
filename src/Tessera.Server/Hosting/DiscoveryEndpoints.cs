using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Tokens;
using Tessera.Server.OAuth;

namespace Tessera.Server.Hosting;

/// <summary>RFC 8414 metadata and the JWKS of published signing keys.</summary>
internal static class DiscoveryEndpoints
{
    public static void MapDiscovery(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/oauth-authorization-server", (HttpContext context, TesseraConfig config) =>
            OAuthResponses.WriteJsonAsync(context, 200, w => WriteMetadata(w, config.Server.Issuer)));
        app.MapGet("/.well-known/jwks.json", (HttpContext context, SigningKeyService keys, TimeProvider time) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=60";
            return WriteJwksAsync(context, keys.Ring.PublishedAt(time.GetUtcNow(), keys.Retention));
        });
    }

    private static void WriteMetadata(Utf8JsonWriter w, string issuer)
    {
        w.WriteString("issuer", issuer);
        w.WriteString("token_endpoint", issuer + "/oauth/token");
        w.WriteString("jwks_uri", issuer + "/.well-known/jwks.json");
        w.WriteString("introspection_endpoint", issuer + "/oauth/introspect");
        w.WriteString("revocation_endpoint", issuer + "/oauth/revoke");
        Array(w, "grant_types_supported", [GrantTypes.ClientCredentials, GrantTypes.TokenExchange, GrantTypes.Ciba]);
        Array(w, "authorization_details_types_supported", [Core.Approvals.ExactRequestDetail.Type]);
        Array(w, "token_endpoint_auth_methods_supported", ClientAuthMethods.Supported);
        Array(w, "token_endpoint_auth_signing_alg_values_supported", ClientAssertionValidator.AllowedAlgorithms);
        Array(w, "introspection_endpoint_auth_methods_supported", ClientAuthMethods.Supported);
        Array(w, "revocation_endpoint_auth_methods_supported", ClientAuthMethods.Supported);
        Array(w, "dpop_signing_alg_values_supported", Core.Dpop.DpopProofValidator.Algorithms);
        Array(w, "response_types_supported", []);
        Array(w, "scopes_supported", []);
    }

    private static async Task WriteJwksAsync(HttpContext context, IEnumerable<SigningKey> keys)
    {
        context.Response.ContentType = "application/jwk-set+json";
        await using var w = new Utf8JsonWriter(context.Response.BodyWriter);
        w.WriteStartObject();
        w.WriteStartArray("keys");
        foreach (var key in keys)
        {
            var jwk = key.PublicJwk;
            w.WriteStartObject();
            w.WriteString("kty", jwk.Kty);
            w.WriteString("crv", jwk.Crv);
            w.WriteString("x", jwk.X);
            w.WriteString("y", jwk.Y);
            w.WriteString("kid", jwk.Kid);
            w.WriteString("use", jwk.Use);
            w.WriteString("alg", jwk.Alg);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(context.RequestAborted);
    }

    private static void Array(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }
}
