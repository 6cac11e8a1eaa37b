using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Tessera.Client;

/// <summary>
/// The agent: a token cache with one request in flight per key, the mission of the current async flow,
/// and the token endpoint client. Options are read (and validated) at first use.
/// </summary>
internal sealed partial class TesseraAgent : ITesseraAgent, IDisposable
{
    internal const string TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
    internal const string JwtTokenType = "urn:ietf:params:oauth:token-type:jwt";
    internal const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    /// <summary>The mission scope of the current async flow, per agent (two agents in one process have missions of their own).</summary>
    private readonly AsyncLocal<MissionScope?> _currentScope = new();

    private readonly IOptions<TesseraAgentOptions> _options;
    private readonly IHttpClientFactory _httpClients;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<TokenKey, TokenSlot> _slots = new();
    private readonly Lock _lock = new();
    private TokenEndpointClient? _endpoint;
    private TimeSpan _refreshBeforeExpiry;

    public TesseraAgent(IOptions<TesseraAgentOptions> options, IHttpClientFactory httpClients, TimeProvider time)
    {
        _options = options;
        _httpClients = httpClients;
        _time = time;
    }

    public TimeProvider Time => _time;

    /// <summary>The endpoint client, built from the options at first use (where a missing option throws OptionsValidationException).</summary>
    internal TokenEndpointClient Endpoint
    {
        get
        {
            if (_endpoint is { } endpoint)
            {
                return endpoint;
            }

            lock (_lock)
            {
                if (_endpoint is null)
                {
                    var options = _options.Value;
                    _refreshBeforeExpiry = options.RefreshBeforeExpiry;
                    var dpop = options.DPoPEnabled ? new DpopProofWriter(options.DPoPKey, _time) : null;
                    _endpoint = new TokenEndpointClient(options, _httpClients, new ClientAuthentication(options, _time), dpop, new DpopNonceStore(), _time);
                }

                return _endpoint;
            }
        }
    }

    public TesseraMission? CurrentMission => _currentScope.Value?.Current;

    public ValueTask<TesseraToken> GetTokenAsync(string tool, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        ArgumentNullException.ThrowIfNull(scopes);
        return GetTokenAsync(tool, TokenKey.NormalizeScope(tool, scopes), cancellationToken);
    }

    /// <summary>A cached token far enough from expiry for <paramref name="tool"/> and a normalized <paramref name="scope"/> in the current mission, without waiting.</summary>
    internal bool TryGetFresh(string tool, string scope, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TesseraToken? token)
    {
        _ = Endpoint;
        token = _slots.TryGetValue(new TokenKey(tool, scope, CurrentMission?.Id), out var slot) ? slot.Token : null;
        return token is not null && IsFresh(token);
    }

    /// <summary>The token for <paramref name="tool"/> and an already normalized <paramref name="scope"/>, in the current mission.</summary>
    internal ValueTask<TesseraToken> GetTokenAsync(string tool, string scope, CancellationToken cancellationToken)
    {
        var endpoint = Endpoint;
        var mission = CurrentMission;
        var key = new TokenKey(tool, scope, mission?.Id);
        var slot = _slots.GetOrAdd(key, static _ => new TokenSlot());

        // The hot path: a cached token far enough from expiry, no lock, no allocation.
        if (slot.Token is { } cached && IsFresh(cached))
        {
            return new ValueTask<TesseraToken>(cached);
        }

        Task<TesseraToken> pending;
        lock (slot.Gate)
        {
            if (slot.Token is { } token && IsFresh(token))
            {
                return new ValueTask<TesseraToken>(token);
            }

            // One request for every concurrent caller; it is not cancelled by any one caller.
            pending = slot.Pending ??= FetchAsync(slot, endpoint, key, mission);
        }

        return new ValueTask<TesseraToken>(pending.WaitAsync(cancellationToken));
    }

    private bool IsFresh(TesseraToken token) => _time.GetUtcNow() < token.ExpiresAt - _refreshBeforeExpiry;

    private static async Task<TesseraToken> FetchAsync(TokenSlot slot, TokenEndpointClient endpoint, TokenKey key, TesseraMission? mission)
    {
        // Run the request outside the caller's lock and synchronous context.
        await Task.Yield();
        try
        {
            var parameters = new List<KeyValuePair<string, string>>(5);
            if (mission is null)
            {
                parameters.Add(new("grant_type", "client_credentials"));
            }
            else
            {
                parameters.Add(new("grant_type", TokenExchange));
                parameters.Add(new("subject_token", mission.Token));
                parameters.Add(new("subject_token_type", AccessTokenType));
            }

            parameters.Add(new("resource", key.Tool));
            if (key.Scope.Length > 0)
            {
                parameters.Add(new("scope", key.Scope));
            }

            var token = await endpoint.RequestTokenAsync(parameters, key.Tool, key.Scope, CancellationToken.None).ConfigureAwait(false);
            slot.Token = token;
            return token;
        }
        catch (TesseraApprovalRequiredException pending)
        {
            // Once approved, the token serves this key's next call (the handler's retry of the refused one).
            pending.Approval.Approved = approved => slot.Token = approved;
            throw;
        }
        finally
        {
            lock (slot.Gate)
            {
                slot.Pending = null;
            }
        }
    }

    /// <summary>Forgets <paramref name="token"/> (refused by a resource) so the next call fetches a new one; a newer token already cached stays.</summary>
    internal void Invalidate(string tool, string scope, TesseraToken token)
    {
        var key = new TokenKey(tool, scope, CurrentMission?.Id);
        if (_slots.TryGetValue(key, out var slot))
        {
            lock (slot.Gate)
            {
                if (ReferenceEquals(slot.Token, token))
                {
                    slot.Token = null;
                }
            }
        }
    }

    public Task<TesseraMission> BeginMissionAsync(string purpose, string onBehalfOf, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        ArgumentException.ThrowIfNullOrEmpty(onBehalfOf);
        return Enter(
            [new("grant_type", TokenExchange), new("subject_token", onBehalfOf), new("subject_token_type", JwtTokenType), new("purpose", purpose)],
            purpose, ttl, cancellationToken);
    }

    public Task<TesseraMission> JoinMissionAsync(string missionToken, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(missionToken);
        return Enter([new("grant_type", TokenExchange), new("subject_token", missionToken), new("subject_token_type", AccessTokenType)], null, null, cancellationToken);
    }

    /// <summary>
    /// Sets a new scope in the caller's flow now (this method is not async, so the AsyncLocal change
    /// stays with the caller) and fills it in once the exchange succeeds. Until then, and if it fails,
    /// the scope is transparent: the previous mission stays current.
    /// </summary>
    private Task<TesseraMission> Enter(List<KeyValuePair<string, string>> parameters, string? purpose, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var endpoint = Endpoint;
        var scope = new MissionScope(_currentScope.Value);
        _currentScope.Value = scope;
        return ExchangeAsync(endpoint, scope, parameters, purpose, ttl, cancellationToken);
    }

    private async Task<TesseraMission> ExchangeAsync(TokenEndpointClient endpoint, MissionScope scope, List<KeyValuePair<string, string>> parameters, string? purpose, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        try
        {
            var token = await endpoint.RequestTokenAsync(parameters, "", "", cancellationToken).ConfigureAwait(false);
            var id = MissionIdOf(token.AccessToken)
                ?? throw new TesseraTokenException("invalid_response", "the exchanged token carries no mission claim.", 200);
            var expiresAt = ttl is { } limit && _time.GetUtcNow() + limit < token.ExpiresAt ? _time.GetUtcNow() + limit : token.ExpiresAt;
            var mission = new TesseraMission(this, scope, id, token.AccessToken, purpose, expiresAt);
            scope.Mission = mission;
            return mission;
        }
        catch
        {
            scope.Ended = true;
            throw;
        }
    }

    /// <summary>Makes the scope before <paramref name="scope"/> current again, when <paramref name="scope"/> is the current one of this flow.</summary>
    internal void Leave(MissionScope scope)
    {
        if (ReferenceEquals(_currentScope.Value, scope))
        {
            _currentScope.Value = scope.Previous;
        }
    }

    /// <summary>Revokes the mission token (and so every token derived from it) and drops the tokens cached for it.</summary>
    internal async Task EndMissionAsync(TesseraMission mission)
    {
        foreach (var key in _slots.Keys)
        {
            if (key.MissionId == mission.Id)
            {
                _slots.TryRemove(key, out _);
            }
        }

        await Endpoint.RevokeAsync(mission.Token, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The <c>mission</c> claim of a token Tessera just issued (read, not verified: it came from Tessera over the authenticated channel).</summary>
    private static string? MissionIdOf(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            return payload.RootElement.TryGetProperty("mission", out var mission) && mission.ValueKind == JsonValueKind.String ? mission.GetString() : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return null;
        }
    }

    public void Dispose() => _endpoint?.Dpop?.Dispose();
}
