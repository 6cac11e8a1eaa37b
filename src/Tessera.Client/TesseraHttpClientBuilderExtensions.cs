using Microsoft.Extensions.DependencyInjection;
using Tessera.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Tessera tokens to the requests of an <see cref="HttpClient"/>.</summary>
public static class TesseraHttpClientBuilderExtensions
{
    /// <summary>
    /// Attaches a token for <paramref name="tool"/> with <paramref name="scopes"/> to every request: cached
    /// until shortly before expiry (one token request for any number of concurrent callers), Bearer or DPoP
    /// with a fresh proof per request, one retry with a new token on a 401 <c>invalid_token</c> (only for
    /// content that can be sent again: none, bytes, strings, forms, JSON; a streamed body is not retried),
    /// and one retry with the server's nonce on <c>use_dpop_nonce</c>. Inside a mission the token is
    /// exchanged from the mission token. Works for calls through Tessera's proxy (<c>{Authority}/proxy/{tool}/</c>)
    /// and for tools that validate Tessera tokens themselves.
    /// </summary>
    /// <param name="builder">The HttpClient's builder (from <c>AddHttpClient</c>); <c>AddTesseraAgent</c> must be registered too.</param>
    /// <param name="tool">The tool's id in Tessera.</param>
    /// <param name="scopes">The scopes, as <c>tool:scope</c> or just <c>scope</c>; none asks for everything the agent may have on the tool.</param>
    public static IHttpClientBuilder AddTesseraToken(this IHttpClientBuilder builder, string tool, params string[] scopes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(scopes);
        var scope = TokenKey.NormalizeScope(tool, scopes);
        return builder.AddHttpMessageHandler(sp => new TesseraTokenHandler(sp.GetRequiredService<TesseraAgent>(), tool, scope));
    }
}
