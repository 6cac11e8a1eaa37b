using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Client.AspNetCore;

/// <summary>
/// Checks a DPoP proof (RFC 9449 §4.3) sent with a bound token, as Tessera's proxy does: typ, an asymmetric
/// algorithm, a public jwk and the signature (through Microsoft.IdentityModel, with the proof's own key),
/// the method and URI of this request, its age, <c>ath</c> = the token's hash, and a <c>jti</c> used once.
/// Returns the RFC 7638 thumbprint of the proof's key, which the caller compares with <c>cnf.jkt</c>.
/// JwtBearer knows nothing of DPoP, so this part is written here.
/// </summary>
internal sealed class DpopProof(ProofReplayCache replay, TimeProvider time)
{
    /// <summary>The algorithms Tessera itself accepts for proofs (and advertises as <c>dpop_signing_alg_values_supported</c>): asymmetric only.</summary>
    internal static readonly string[] Algorithms = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"];

    /// <summary>A proof is accepted for this long after its <c>iat</c> (Tessera's default <c>dpop.proof_max_age</c>)...</summary>
    internal static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(60);

    /// <summary>...plus this much clock skew either way.</summary>
    internal static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);

    private const int MaxProofLength = 8 * 1024;
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    /// <param name="proof">The value of the single <c>DPoP</c> header.</param>
    /// <param name="method">This request's method.</param>
    /// <param name="uri">This request's URI as the tool is reached (scheme, host, path base and path).</param>
    /// <param name="accessToken">The token presented with the proof.</param>
    /// <returns>The key's thumbprint, or why the proof is refused.</returns>
    public async Task<(string? Jkt, string? Refusal)> ValidateAsync(string proof, string method, string uri, string accessToken)
    {
        // Reject anything that is not a compact JWS of reasonable size.
        if (proof.Length == 0 || proof.Length > MaxProofLength || !Handler.CanReadToken(proof))
        {
            return (null, "the DPoP proof is not a JWT");
        }

        JsonWebToken jwt;
        JsonDocument header;
        JsonDocument payload;
        try
        {
            jwt = new JsonWebToken(proof);
            var headerBytes = Base64UrlEncoder.DecodeBytes(jwt.EncodedHeader);
            var payloadBytes = Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload);

            // Reject a header or payload that is not UTF-8: JsonDocument checks a string's bytes only when
            // the string is read, so reading the jwk or a claim of such a proof would throw.
            if (!Utf8.IsValid(headerBytes) || !Utf8.IsValid(payloadBytes))
            {
                return (null, "the DPoP proof is not a JWT");
            }

            header = JsonDocument.Parse(headerBytes);
            payload = JsonDocument.Parse(payloadBytes);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or FormatException or SecurityTokenMalformedException)
        {
            return (null, "the DPoP proof is not a JWT");
        }

        using (header)
        using (payload)
        {
            var h = header.RootElement;
            var p = payload.RootElement;
            if (h.ValueKind != JsonValueKind.Object || p.ValueKind != JsonValueKind.Object)
            {
                return (null, "the DPoP proof is not a JWT");
            }

            // Reject proofs that do not declare themselves as DPoP proofs (§4.2: typ dpop+jwt).
            if (String(h, "typ") != "dpop+jwt")
            {
                return (null, "the DPoP proof must have typ dpop+jwt");
            }

            // Reject none, HMAC and anything else that is not an asymmetric signature.
            if (String(h, "alg") is not { } alg || !Algorithms.Contains(alg))
            {
                return (null, "the DPoP proof must be signed with an asymmetric algorithm");
            }

            // Reject proofs without a public key, or with private key material in it.
            if (!h.TryGetProperty("jwk", out var jwkElement) || jwkElement.ValueKind != JsonValueKind.Object)
            {
                return (null, "the DPoP proof must carry its public key in jwk");
            }

            if (PrivateMembers.Any(m => jwkElement.TryGetProperty(m, out _)) || String(jwkElement, "kty") is not ("EC" or "RSA"))
            {
                return (null, "the DPoP proof's jwk must be an EC or RSA public key");
            }

            JsonWebKey key;
            try
            {
                key = new JsonWebKey(jwkElement.GetRawText());
            }
            catch (ArgumentException)
            {
                return (null, "the DPoP proof's jwk is malformed");
            }

            var verified = await Handler.ValidateTokenAsync(proof, new TokenValidationParameters
            {
                IssuerSigningKey = key,
                ValidateIssuerSigningKey = false,
                ValidateIssuer = false,
                ValidateAudience = false,
                ValidateLifetime = false,
                RequireExpirationTime = false,
                RequireSignedTokens = true,
                ValidAlgorithms = Algorithms,
                ValidTypes = ["dpop+jwt"],
            });
            if (!verified.IsValid)
            {
                return (null, "the DPoP proof's signature does not verify with its jwk");
            }

            // Reject proofs missing any claim §4.2 requires.
            var jti = String(p, "jti");
            var htm = String(p, "htm");
            var htu = String(p, "htu");
            if (string.IsNullOrEmpty(jti) || jti.Length > 256 || htm is null || htu is null
                || !p.TryGetProperty("iat", out var iatElement) || iatElement.ValueKind != JsonValueKind.Number || !iatElement.TryGetInt64(out var iat))
            {
                return (null, "the DPoP proof must carry jti, htm, htu and iat");
            }

            // Reject proofs made for another method.
            if (!string.Equals(htm, method, StringComparison.Ordinal))
            {
                return (null, "the DPoP proof is for another HTTP method");
            }

            // Reject proofs made for another URI (scheme and host case-insensitive, default port, no query or fragment).
            var target = NormalizeUri(htu);
            if (target is null || !string.Equals(NormalizeUri(uri), target, StringComparison.Ordinal))
            {
                return (null, "the DPoP proof's htu does not name this request's URI");
            }

            // Reject stale proofs and proofs from the future.
            var now = time.GetUtcNow();
            var issued = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(iat, 0, 253402300799));
            if (issued < now - MaxAge - Skew || issued > now + Skew)
            {
                return (null, "the DPoP proof's iat is outside the accepted window");
            }

            // Reject proofs that do not carry the hash of the token they accompany (a proof made for another token).
            if (String(p, "ath") is not { } ath || !string.Equals(ath, AccessTokenHash(accessToken), StringComparison.Ordinal))
            {
                return (null, "the DPoP proof's ath does not match the access token");
            }

            var jkt = Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());

            // Reject a replayed proof: each jti is accepted once while a proof of its age could still be accepted.
            if (!replay.TryUse($"{jkt}:{jti}", issued + MaxAge + Skew + Skew))
            {
                return (null, "the DPoP proof's jti was already used");
            }

            return (jkt, null);
        }
    }

    /// <summary>RFC 9449 §4.2 <c>ath</c>: base64url(SHA-256(ASCII(access token))).</summary>
    internal static string AccessTokenHash(string accessToken) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    /// <summary>§4.3 step 9 with RFC 3986 §6.2.2–6.2.3: lower-case scheme and host, explicit default port, no query or fragment.</summary>
    internal static string? NormalizeUri(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        return $"{parsed.Scheme}://{parsed.IdnHost}:{parsed.Port}{parsed.AbsolutePath}";
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
