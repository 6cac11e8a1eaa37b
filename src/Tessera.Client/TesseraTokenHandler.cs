using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace Tessera.Client;

/// <summary>
/// Attaches a Tessera token to every request of an <see cref="HttpClient"/>: the cached token (Bearer,
/// or DPoP with a fresh proof per request), one retry with a new token when the resource answers 401
/// <c>invalid_token</c>, and one retry with the server's nonce on <c>use_dpop_nonce</c>. A request is
/// retried only when its content can be sent again (none, bytes, strings, forms, JSON); a streamed body
/// is sent once and its 401 returned to the caller.
/// </summary>
internal sealed class TesseraTokenHandler(TesseraAgent agent, string tool, string scope) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // The hot path: a cached Bearer token and an answer that needs no second look cost no allocation here.
        if (agent.TryGetFresh(tool, scope, out var token) && !token.IsDPoP)
        {
            request.Headers.Authorization = token.Authorization;
            var sent = base.SendAsync(request, cancellationToken);
            if (sent.IsCompletedSuccessfully && sent.Result.StatusCode != HttpStatusCode.Unauthorized)
            {
                return sent;
            }

            return AfterFirstSendAsync(request, token, sent, cancellationToken);
        }

        return SendSlowAsync(request, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendSlowAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await agent.GetTokenAsync(tool, scope, cancellationToken).ConfigureAwait(false);
        Attach(request, token);
        return await AfterFirstSendAsync(request, token, base.SendAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> AfterFirstSendAsync(HttpRequestMessage request, TesseraToken token, Task<HttpResponseMessage> sent, CancellationToken cancellationToken)
    {
        var response = await sent.ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !CanResend(request.Content))
        {
            return response;
        }

        var error = ChallengeError(response);
        if (error == "use_dpop_nonce" && token.IsDPoP && agent.Endpoint.Nonces.Remember(request.RequestUri!, response))
        {
            // RFC 9449 §9: the resource gave its nonce; the same token with a proof carrying it.
        }
        else if (error is "invalid_token" or "use_dpop_nonce")
        {
            // The token was refused (revoked, expired early, or the nonce it was proven with is stale and this
            // resource gives none of its own: Tessera's proxy accepts the token endpoint's nonce): a new token,
            // whose request also brings the token endpoint's current nonce.
            agent.Invalidate(tool, scope, token);
            token = await agent.GetTokenAsync(tool, scope, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            return response;
        }

        response.Dispose();
        Attach(request, token);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private void Attach(HttpRequestMessage request, TesseraToken token)
    {
        request.Headers.Authorization = token.Authorization;
        request.Headers.Remove("DPoP");
        if (token.IsDPoP && agent.Endpoint.Dpop is { } dpop)
        {
            var uri = request.RequestUri ?? throw new InvalidOperationException("A request through the Tessera handler needs an absolute URI.");
            request.Headers.TryAddWithoutValidation("DPoP", dpop.Create(request.Method.Method, DpopProofWriter.HtuOf(uri), token.Ath, agent.Endpoint.Nonces.For(uri)));
        }
    }

    /// <summary>Content that serializes the same bytes again; a stream (or anything unknown) may already be consumed.</summary>
    private static bool CanResend(HttpContent? content) => content is null or ByteArrayContent or ReadOnlyMemoryContent or JsonContent;

    /// <summary>The <c>error</c> parameter of a Bearer or DPoP challenge (RFC 6750 §3, RFC 9449 §7.1), or null.</summary>
    private static string? ChallengeError(HttpResponseMessage response)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (!string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) && !string.Equals(challenge.Scheme, "DPoP", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var parameter = challenge.Parameter;
            var at = parameter?.IndexOf("error=\"", StringComparison.Ordinal) ?? -1;
            if (at >= 0 && (at == 0 || parameter![at - 1] is ' ' or ','))
            {
                var start = at + "error=\"".Length;
                var end = parameter!.IndexOf('"', start);
                if (end > start)
                {
                    return parameter[start..end];
                }
            }
        }

        return null;
    }
}
