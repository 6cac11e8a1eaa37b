using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;
using Tessera.Server.OAuth;

namespace Tessera.Server.Hosting;

/// <summary>RFC 8414 metadata and the JWKS of published signing keys.</summary>
internal static class DiscoveryEndpoints
{
    public static void MapDiscovery(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/oauth-authorization-server", (HttpContext context, TesseraConfig config) =>
            OAuthResponses.WriteJsonAsync(context, 200, w => WriteMetadata(w, config.Server.Issuer)));
        app.MapGet(ProtectedResource.WellKnown + "/proxy/{tool}", (HttpContext context, string tool, TesseraConfig config, LiveConfig live) =>
            live.Current.Tools.FindById(tool) is { } found
                ? OAuthResponses.WriteJsonAsync(context, 200, w => WriteResourceMetadata(w, config.Server.Issuer, found))
                : Results.Problem(statusCode: 404, title: "Unknown tool", detail: "no tool of that id is configured").ExecuteAsync(context));
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
        Array(w, "authorization_details_types_supported", [Core.Approvals.ExactRequestDetail.Type, Core.Mcp.McpCallDetail.Type]);
        Array(w, "token_endpoint_auth_methods_supported", ClientAuthMethods.Supported);
        Array(w, "token_endpoint_auth_signing_alg_values_supported", ClientAssertionValidator.AllowedAlgorithms);
        Array(w, "introspection_endpoint_auth_methods_supported", ClientAuthMethods.Supported);
        Array(w, "revocation_endpoint_auth_methods_supported", ClientAuthMethods.Supported);
        Array(w, "dpop_signing_alg_values_supported", Core.Dpop.DpopProofValidator.Algorithms);
        Array(w, "response_types_supported", []);
        Array(w, "scopes_supported", []);
    }

    /// <summary>RFC 9728 §2: a tool as a protected resource, so an MCP client can find who issues its tokens and which scopes exist.</summary>
    private static void WriteResourceMetadata(Utf8JsonWriter w, string issuer, Tool tool)
    {
        w.WriteString("resource", ProtectedResource.UriOf(issuer, tool.Id));
        Array(w, "authorization_servers", [issuer]);
        Array(w, "scopes_supported", [.. tool.Scopes.Order(StringComparer.Ordinal)]);
        Array(w, "bearer_methods_supported", ["header"]);
        w.WriteString("resource_name", tool.Id);
        if (tool.Options.RequireDpop)
        {
            w.WriteBoolean("dpop_bound_access_tokens_required", true);
        }

        Array(w, "dpop_signing_alg_values_supported", Core.Dpop.DpopProofValidator.Algorithms);
    }

    private static async Task WriteJwksAsync(HttpContext context, IEnumerable<SigningKey> keys)
    {
        context.Response.ContentType = "application/jwk-set+json";
        await using var w = new Utf8JsonWriter(context.Response.BodyWriter);
        w.WriteStartObject();
        w.WriteStartArray("keys");
        foreach (var key in keys)
        {
            Core.Tokens.PublicJwkJson.Write(w, key.PublicJwk);
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
