using System.Text.Json;

namespace Tessera.Client;

/// <summary>
/// Talks to Tessera's OAuth endpoints: discovery (cached), the token endpoint with client
/// authentication and a DPoP proof (one retry on <c>use_dpop_nonce</c>), and revocation.
/// </summary>
internal sealed class TokenEndpointClient(
    TesseraAgentOptions options, IHttpClientFactory httpClients, ClientAuthentication authentication, DpopProofWriter? dpop, DpopNonceStore nonces, TimeProvider time)
{
    private const int MaxAnswerBytes = 1024 * 1024;
    private readonly Lock _lock = new();
    private Task<AuthorizationServerMetadata>? _metadata;

    public DpopProofWriter? Dpop => dpop;

    public DpopNonceStore Nonces => nonces;

    /// <summary>The broker's metadata, fetched once; a failed fetch is forgotten so the next call tries again.</summary>
    public Task<AuthorizationServerMetadata> MetadataAsync()
    {
        lock (_lock)
        {
            if (_metadata is null || _metadata.IsFaulted || _metadata.IsCanceled)
            {
                _metadata = FetchMetadataAsync();
            }

            return _metadata;
        }
    }

    private async Task<AuthorizationServerMetadata> FetchMetadataAsync()
    {
        var authority = options.Authority!.AbsoluteUri.TrimEnd('/');
        var address = new Uri(authority + "/.well-known/oauth-authorization-server");
        using var client = httpClients.CreateClient(TesseraAgentOptions.HttpClientName);
        using var response = await client.GetAsync(address).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new TesseraTokenException("discovery_failed", $"{address} answered {(int)response.StatusCode}.", (int)response.StatusCode);
        }

        using var json = await ReadJsonAsync(response, CancellationToken.None).ConfigureAwait(false);
        var root = json.RootElement;
        var issuer = String(root, "issuer");
        var token = String(root, "token_endpoint");
        var revocation = String(root, "revocation_endpoint");

        // RFC 8414 §3.3: the metadata must name the issuer it was fetched for, or it is someone else's.
        if (issuer is null || !string.Equals(issuer.TrimEnd('/'), authority, StringComparison.Ordinal))
        {
            throw new TesseraTokenException("discovery_failed", $"the metadata at {address} names issuer '{issuer}', not '{authority}'.", (int)response.StatusCode);
        }

        if (!Uri.TryCreate(token, UriKind.Absolute, out var tokenEndpoint) || !Uri.TryCreate(revocation ?? authority + "/oauth/revoke", UriKind.Absolute, out var revocationEndpoint))
        {
            throw new TesseraTokenException("discovery_failed", $"the metadata at {address} has no usable token_endpoint.", (int)response.StatusCode);
        }

        return new AuthorizationServerMetadata(issuer, tokenEndpoint, revocationEndpoint);
    }

    /// <summary>
    /// Posts <paramref name="parameters"/> to the token endpoint and returns the token, or throws the
    /// refusal as a <see cref="TesseraTokenException"/> (<see cref="TesseraApprovalRequiredException"/> for an approval).
    /// </summary>
    public async Task<TesseraToken> RequestTokenAsync(IReadOnlyList<KeyValuePair<string, string>> parameters, string tool, string scope, CancellationToken cancellationToken)
    {
        var metadata = await MetadataAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        using var client = httpClients.CreateClient(TesseraAgentOptions.HttpClientName);
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, metadata.TokenEndpoint);
            var form = new List<KeyValuePair<string, string>>(parameters);
            await authentication.ApplyAsync(request, form, metadata.TokenEndpoint, cancellationToken).ConfigureAwait(false);
            request.Content = new FormUrlEncodedContent(form);
            if (dpop is not null)
            {
                request.Headers.Add("DPoP", dpop.Create("POST", DpopProofWriter.HtuOf(metadata.TokenEndpoint), ath: null, nonces.For(metadata.TokenEndpoint)));
            }

            var sentAt = time.GetUtcNow();
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var newNonce = nonces.Remember(metadata.TokenEndpoint, response);
            using var json = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
            var root = json.RootElement;
            if (response.IsSuccessStatusCode)
            {
                return Parse(root, sentAt, (int)response.StatusCode);
            }

            var error = String(root, "error") ?? "invalid_response";
            var description = String(root, "error_description");

            // RFC 9449 §8: the server wants its nonce in the proof; retry once with the one it just gave.
            if (error == "use_dpop_nonce" && dpop is not null && newNonce && attempt == 0)
            {
                continue;
            }

            if (error == "approval_required" && String(root, "auth_req_id") is { Length: > 0 } authReqId)
            {
                var interval = root.TryGetProperty("interval", out var i) && i.TryGetInt32(out var seconds) ? seconds : 5;
                var expiresIn = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var expires) ? expires : 0;
                var request2 = new ApprovalRequest(authReqId, TimeSpan.FromSeconds(interval), TimeSpan.FromSeconds(expiresIn), tool,
                    scope.Split(' ', StringSplitOptions.RemoveEmptyEntries), this, time, time.GetUtcNow());
                throw new TesseraApprovalRequiredException(request2, description);
            }

            throw new TesseraTokenException(error, description, (int)response.StatusCode)
            {
                Interval = root.TryGetProperty("interval", out var slower) && slower.TryGetInt32(out var slowerSeconds) && slowerSeconds > 0 ? TimeSpan.FromSeconds(slowerSeconds) : null,
            };
        }
    }

    /// <summary>Revokes <paramref name="token"/> (RFC 7009) with the agent's client authentication.</summary>
    public async Task RevokeAsync(string token, CancellationToken cancellationToken)
    {
        var metadata = await MetadataAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        using var client = httpClients.CreateClient(TesseraAgentOptions.HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, metadata.RevocationEndpoint);
        var form = new List<KeyValuePair<string, string>> { new("token", token) };
        await authentication.ApplyAsync(request, form, metadata.TokenEndpoint, cancellationToken).ConfigureAwait(false);
        request.Content = new FormUrlEncodedContent(form);
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            using var json = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
            throw new TesseraTokenException(String(json.RootElement, "error") ?? "invalid_response", String(json.RootElement, "error_description"), (int)response.StatusCode);
        }
    }

    private static TesseraToken Parse(JsonElement root, DateTimeOffset sentAt, int status)
    {
        var accessToken = String(root, "access_token");
        var tokenType = String(root, "token_type") ?? "Bearer";
        if (string.IsNullOrEmpty(accessToken) || !root.TryGetProperty("expires_in", out var e) || !e.TryGetInt64(out var expiresIn) || expiresIn <= 0)
        {
            throw new TesseraTokenException("invalid_response", "the token endpoint's answer has no access_token or expires_in.", status);
        }

        // Expiry is counted from when the request was sent, so the cache never outlives the token.
        return new TesseraToken(accessToken, sentAt.AddSeconds(expiresIn), String(root, "scope") ?? "", tokenType);
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return bytes.Length is > 0 and <= MaxAnswerBytes ? JsonDocument.Parse(bytes) : JsonDocument.Parse("{}");
        }
        catch (JsonException ex)
        {
            throw new TesseraTokenException("invalid_response", $"Tessera answered {(int)response.StatusCode} without a JSON body.", (int)response.StatusCode, ex);
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
