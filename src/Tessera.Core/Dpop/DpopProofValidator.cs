using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Configuration;
using Tessera.Core.Identity;

namespace Tessera.Core.Dpop;

/// <summary>
/// Checks a DPoP proof (RFC 9449 §4.3) for one HTTP request: its shape and signature (through
/// Microsoft.IdentityModel, with the proof's own public key), the method and URI it names, its age,
/// the access-token hash when one is presented, an optional server nonce, and that its <c>jti</c> is
/// used once (through the <see cref="IReplayCache"/> port, shared by nodes on one database). Returns the
/// RFC 7638 thumbprint of the proof key, which binds tokens (<c>cnf.jkt</c>).
/// </summary>
public sealed class DpopProofValidator(IReplayCache replay, DpopNonces nonces, TesseraConfig config, TimeProvider time)
{
    /// <summary>Asymmetric algorithms only: a proof signed with a shared secret proves nothing about a key pair.</summary>
    public static readonly IReadOnlyList<string> Algorithms = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"];

    /// <summary>Presented tokens and DPoP proofs get 60 s of clock skew.</summary>
    public static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);

    private const int MaxProofLength = 8 * 1024;
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    /// <summary>
    /// A client signs every proof with the same key; importing its jwk into a new OpenSSL key costs
    /// more than the signature check, so imported keys are kept, by their exact JSON text, up to a bound.
    /// </summary>
    private const int MaxCachedKeys = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (JsonWebKey Key, string Jkt)> _keys = new(StringComparer.Ordinal);

    /// <summary>The configured issuer without a trailing slash: the only origin (and base path) a proof's <c>htu</c> may name.</summary>
    private readonly string _issuer = config.Server.Issuer.TrimEnd('/');

    /// <param name="proof">The value of the single <c>DPoP</c> header.</param>
    /// <param name="method">The request's method (<c>htm</c> must equal it).</param>
    /// <param name="path">
    /// The request's path as received, without the query (<c>/oauth/token</c>, <c>/proxy/crm/contacts/1</c>):
    /// <c>htu</c> must name it under the configured issuer (§4.3 normalization). Never the Host header or
    /// the address the request reached: those are the client's to choose, so a proof made for another
    /// server (or one the client named itself) would pass.
    /// </param>
    /// <param name="accessToken">The access token presented with the proof, whose hash <c>ath</c> must carry; null at the token endpoint.</param>
    /// <param name="cancellationToken">Cancels the replay-cache call.</param>
    public async ValueTask<DpopValidation> ValidateAsync(string proof, string method, string path, string? accessToken, CancellationToken cancellationToken)
    {
        // Reject anything that is not a compact JWS of reasonable size.
        if (proof.Length == 0 || proof.Length > MaxProofLength || !Handler.CanReadToken(proof))
        {
            return DpopValidation.Invalid("the DPoP proof is not a JWT");
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
                return DpopValidation.Invalid("the DPoP proof is not a JWT");
            }

            header = JsonDocument.Parse(headerBytes);
            payload = JsonDocument.Parse(payloadBytes);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or FormatException or SecurityTokenMalformedException)
        {
            return DpopValidation.Invalid("the DPoP proof is not a JWT");
        }

        using (header)
        using (payload)
        {
            var h = header.RootElement;
            var p = payload.RootElement;
            if (h.ValueKind != JsonValueKind.Object || p.ValueKind != JsonValueKind.Object)
            {
                return DpopValidation.Invalid("the DPoP proof is not a JWT");
            }

            // Reject proofs that do not declare themselves as DPoP proofs (§4.2: typ dpop+jwt).
            if (String(h, "typ") != "dpop+jwt")
            {
                return DpopValidation.Invalid("the DPoP proof must have typ dpop+jwt");
            }

            // Reject none, HMAC and anything else that is not an asymmetric signature.
            if (String(h, "alg") is not { } alg || !Algorithms.Contains(alg))
            {
                return DpopValidation.Invalid("the DPoP proof must be signed with an asymmetric algorithm (" + string.Join(", ", Algorithms) + ")");
            }

            // Reject proofs without a public key, or with private key material in it.
            if (!h.TryGetProperty("jwk", out var jwkElement) || jwkElement.ValueKind != JsonValueKind.Object)
            {
                return DpopValidation.Invalid("the DPoP proof must carry its public key in jwk");
            }

            foreach (var member in PrivateMembers)
            {
                if (jwkElement.TryGetProperty(member, out _))
                {
                    return DpopValidation.Invalid("the DPoP proof's jwk must be a public key (it holds private key material)");
                }
            }

            if (String(jwkElement, "kty") is not ("EC" or "RSA"))
            {
                return DpopValidation.Invalid("the DPoP proof's jwk must be an EC or RSA public key");
            }

            var jwkText = jwkElement.GetRawText();
            if (!_keys.TryGetValue(jwkText, out var cached))
            {
                try
                {
                    var parsed = new JsonWebKey(jwkText);
                    cached = (parsed, Thumbprint(parsed));
                }
                catch (ArgumentException)
                {
                    return DpopValidation.Invalid("the DPoP proof's jwk is malformed");
                }

                if (_keys.Count >= MaxCachedKeys)
                {
                    _keys.Clear();
                }

                _keys.TryAdd(jwkText, cached);
            }

            var key = cached.Key;

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
                return DpopValidation.Invalid("the DPoP proof's signature does not verify with its jwk");
            }

            // Reject proofs missing any claim §4.2 requires.
            var jti = String(p, "jti");
            var htm = String(p, "htm");
            var htu = String(p, "htu");
            if (string.IsNullOrEmpty(jti) || jti.Length > 256 || htm is null || htu is null
                || !p.TryGetProperty("iat", out var iatElement) || iatElement.ValueKind != JsonValueKind.Number || !iatElement.TryGetInt64(out var iat))
            {
                return DpopValidation.Invalid("the DPoP proof must carry jti, htm, htu and iat");
            }

            // Reject proofs made for another method.
            if (!string.Equals(htm, method, StringComparison.Ordinal))
            {
                return DpopValidation.Invalid($"the DPoP proof is for {AsciiHead(htm)}, not {method}");
            }

            // Reject proofs made for another URI (scheme and host case-insensitive, default port, no query
            // or fragment), including one naming the Host header or address the request came in on: only
            // the issuer's origin names this server.
            var target = NormalizeUri(htu);
            if (target is null || !string.Equals(NormalizeUri(_issuer + path), target, StringComparison.Ordinal))
            {
                return DpopValidation.Invalid("the DPoP proof's htu does not name this request's URI");
            }

            // Reject stale proofs and proofs from the future.
            var now = time.GetUtcNow();
            var issued = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(iat, 0, 253402300799));
            if (issued < now - config.Dpop.ProofMaxAge - Skew || issued > now + Skew)
            {
                return DpopValidation.Invalid("the DPoP proof's iat is outside the accepted window");
            }

            // Reject proofs that do not carry the hash of the access token they accompany.
            if (accessToken is not null)
            {
                var ath = String(p, "ath");
                if (ath is null)
                {
                    return DpopValidation.Invalid("the DPoP proof must carry ath, the hash of the access token");
                }

                if (!string.Equals(ath, AccessTokenHash(accessToken), StringComparison.Ordinal))
                {
                    return DpopValidation.Invalid("the DPoP proof's ath does not match the access token");
                }
            }

            // Demand a fresh server nonce when nonces are on (§8, §9).
            if (config.Dpop.UseNonce && !nonces.IsValid(String(p, "nonce")))
            {
                return new DpopValidation(null, "the server requires a DPoP nonce; retry with the one in DPoP-Nonce", UseNonce: true);
            }

            var jkt = cached.Jkt;

            // Reject a replayed proof: each jti is accepted once while its proof could still be accepted.
            if (!await replay.TryUseAsync($"dpop:{jkt}:{jti}", issued + config.Dpop.ProofMaxAge + Skew + Skew, cancellationToken))
            {
                return DpopValidation.Invalid("the DPoP proof's jti was already used");
            }

            return new DpopValidation(jkt, null);
        }
    }

    /// <summary>RFC 7638 SHA-256 thumbprint of a public JWK, base64url (the value of <c>cnf.jkt</c>).</summary>
    public static string Thumbprint(JsonWebKey key) => Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());

    /// <summary>RFC 9449 §4.2 <c>ath</c>: base64url(SHA-256(ASCII(access token))).</summary>
    public static string AccessTokenHash(string accessToken) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));

    /// <summary>§4.3 step 9 with RFC 3986 §6.2.2–6.2.3: lower-case scheme and host, explicit default port, no query or fragment.</summary>
    public static string? NormalizeUri(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        return $"{parsed.Scheme}://{parsed.IdnHost}:{parsed.Port}{parsed.AbsolutePath}";
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>The first 16 characters, without an ellipsis: the text ends up in a <c>WWW-Authenticate</c> header, which stays ASCII.</summary>
    private static string AsciiHead(string value) => value.Length <= 16 ? value : value[..16];
}
