using System.Text.Json;

namespace Tessera.Core.Tokens;

/// <summary>
/// The claims of a Tessera access token (RFC 9068 plus RFC 8693 <c>act</c>, <c>mission</c>,
/// <c>purpose</c>, and <c>lin</c>: the ids of the token's ancestors, so revoking any of them is an
/// O(depth) check on this token).
/// </summary>
public sealed record AccessTokenClaims
{
    public required string Issuer { get; init; }
    public required string Subject { get; init; }
    public required string Audience { get; init; }
    public required string ClientId { get; init; }
    public required ScopeSet Scope { get; init; }
    public required string Jti { get; init; }
    public required long IssuedAt { get; init; }
    public required long ExpiresAt { get; init; }

    /// <summary>Agents that acted, from the first actor to the current one; empty for client_credentials.</summary>
    public IReadOnlyList<string> ActorChain { get; init; } = [];

    public string? Mission { get; init; }
    public string? Purpose { get; init; }

    /// <summary>The identity provider of the principal (<c>idp</c>), for delegated tokens.</summary>
    public string? Idp { get; init; }

    /// <summary>Ids of ancestor tokens and the mission, root first.</summary>
    public IReadOnlyList<string> Lineage { get; init; } = [];

    /// <summary>How many requests the proxy forwards with this token (approval-limited tokens); null means unlimited.</summary>
    public int? MaxUses { get; init; }

    /// <summary>RFC 9396 <c>authorization_details</c> as JSON text (the exact request an approval allowed); null when not bound.</summary>
    public string? AuthorizationDetails { get; init; }

    /// <summary>RFC 9449 §6.1 <c>cnf.jkt</c>: the thumbprint of the key this token is bound to, or null for a bearer token.</summary>
    public string? Jkt { get; init; }

    /// <summary>The principal's <c>sub</c> when issued on someone's behalf; null for an agent acting for itself.</summary>
    public string? Principal => ActorChain.Count > 0 ? Subject : null;

    /// <summary>Delegation depth: how many agents act in the chain (0 for client_credentials).</summary>
    public int Depth => ActorChain.Count;

    /// <summary>The client and every actor: revoking any of these agents kills the token.</summary>
    public IReadOnlyList<string> Agents => ActorChain.Count == 0 ? [ClientId] : [ClientId, .. ActorChain];

    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("iss", Issuer);
        w.WriteString("sub", Subject);
        w.WriteString("aud", Audience);
        w.WriteString("client_id", ClientId);
        w.WriteString("scope", Scope.ToString());
        w.WriteString("jti", Jti);
        w.WriteNumber("iat", IssuedAt);
        w.WriteNumber("exp", ExpiresAt);
        if (ActorChain.Count > 0)
        {
            w.WritePropertyName("act");
            WriteActor(w, ActorChain, ActorChain.Count - 1);
        }

        if (Mission is not null)
        {
            w.WriteString("mission", Mission);
        }

        if (Purpose is not null)
        {
            w.WriteString("purpose", Purpose);
        }

        if (Idp is not null)
        {
            w.WriteString("idp", Idp);
        }

        if (Lineage.Count > 0)
        {
            w.WriteStartArray("lin");
            foreach (var id in Lineage)
            {
                w.WriteStringValue(id);
            }

            w.WriteEndArray();
        }

        if (MaxUses is { } maxUses)
        {
            w.WriteNumber("max_uses", maxUses);
        }

        if (AuthorizationDetails is not null)
        {
            w.WritePropertyName("authorization_details");
            w.WriteRawValue(AuthorizationDetails);
        }

        if (Jkt is not null)
        {
            w.WriteStartObject("cnf");
            w.WriteString("jkt", Jkt);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>RFC 8693 §4.1: the outermost <c>act</c> is the current actor, nesting the ones before it.</summary>
    public static void WriteActor(Utf8JsonWriter w, IReadOnlyList<string> chain, int index)
    {
        w.WriteStartObject();
        w.WriteString("sub", chain[index]);
        if (index > 0)
        {
            w.WritePropertyName("act");
            WriteActor(w, chain, index - 1);
        }

        w.WriteEndObject();
    }

    /// <summary>Reads claims from a payload whose signature was already verified. Returns null when a required claim is missing or malformed.</summary>
    public static AccessTokenClaims? FromPayload(ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var chain = new List<string>();
            if (r.TryGetProperty("act", out var act))
            {
                var current = act;
                while (current.ValueKind == JsonValueKind.Object && current.TryGetProperty("sub", out var sub) && sub.ValueKind == JsonValueKind.String)
                {
                    chain.Add(sub.GetString()!);
                    if (!current.TryGetProperty("act", out current))
                    {
                        break;
                    }
                }

                chain.Reverse();
            }

            return new AccessTokenClaims
            {
                Issuer = r.GetProperty("iss").GetString()!,
                Subject = r.GetProperty("sub").GetString()!,
                Audience = r.GetProperty("aud").GetString()!,
                ClientId = r.GetProperty("client_id").GetString()!,
                Scope = ScopeSet.Parse(r.TryGetProperty("scope", out var s) ? s.GetString() : null),
                Jti = r.GetProperty("jti").GetString()!,
                IssuedAt = r.GetProperty("iat").GetInt64(),
                ExpiresAt = r.GetProperty("exp").GetInt64(),
                ActorChain = chain,
                Mission = r.TryGetProperty("mission", out var m) ? m.GetString() : null,
                Purpose = r.TryGetProperty("purpose", out var p) ? p.GetString() : null,
                Idp = r.TryGetProperty("idp", out var idp) ? idp.GetString() : null,
                Lineage = r.TryGetProperty("lin", out var lin) && lin.ValueKind == JsonValueKind.Array
                    ? lin.EnumerateArray().Select(e => e.GetString() ?? "").ToList()
                    : [],
                MaxUses = r.TryGetProperty("max_uses", out var mu) ? mu.GetInt32() : null,
                AuthorizationDetails = r.TryGetProperty("authorization_details", out var ad) && ad.ValueKind == JsonValueKind.Array ? ad.GetRawText() : null,
                Jkt = r.TryGetProperty("cnf", out var cnf) && cnf.ValueKind == JsonValueKind.Object && cnf.TryGetProperty("jkt", out var jkt) ? jkt.GetString() : null,
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
