using Tessera.Core.Dpop;
using Tessera.Core.Protocol;
using Tessera.Core.Tokens;
using Tessera.Core.Tools;

namespace Tessera.Core.Proxy;

/// <summary>
/// How a resource of Tessera's (the proxy, the credentials endpoint) reads the access token a request
/// presents and checks its sender constraint: one rule for every endpoint that takes a tool's token.
/// </summary>
public static class PresentedToken
{
    /// <summary>
    /// RFC 9449 §7: a DPoP-bound token comes with the DPoP scheme and a proof of its key (method, URI,
    /// <c>ath</c>); it is refused as Bearer. A tool with <c>require_dpop</c> takes bound tokens only.
    /// Returns the refusal, or null when the token may be used.
    /// </summary>
    /// <param name="dpop">Validates the proof.</param>
    /// <param name="request">The request.</param>
    /// <param name="raw">The request target.</param>
    /// <param name="queryStart">Where its query starts, or -1: the proof's <c>htu</c> names the target without it.</param>
    /// <param name="token">The access token presented.</param>
    /// <param name="dpopScheme">Whether it came with the DPoP scheme.</param>
    /// <param name="claims">Its claims.</param>
    /// <param name="tool">The tool the request names.</param>
    public static async ValueTask<(string Code, string Error, string Description)?> CheckBindingAsync<TRequest>(DpopProofValidator dpop, TRequest request, string raw, int queryStart, string token, bool dpopScheme,
        AccessTokenClaims claims, Tool tool)
        where TRequest : IProxyRequest
    {
        if (!dpopScheme)
        {
            // Reject a bound token presented as a bearer token: whoever holds it must also hold the key.
            if (claims.Jkt is not null)
            {
                return (RefusalCodes.ProxyDpopBoundAsBearer, "invalid_token", "the token is DPoP-bound; send it with the DPoP scheme and a proof");
            }

            // Reject unbound tokens for tools that take sender-constrained tokens only.
            return tool.Options.RequireDpop ? (RefusalCodes.ProxyDpopRequiredByTool, "invalid_token", $"tool '{tool.Id}' accepts DPoP-bound tokens only") : null;
        }

        // Reject the DPoP scheme for a token that is not bound: there is no key to prove.
        if (claims.Jkt is null)
        {
            return (RefusalCodes.ProxyDpopTokenNotBound, "invalid_token", "the token is not DPoP-bound; send it as Bearer");
        }

        var proofs = request.Header("DPoP", out var proofValue);
        if (proofs != 1)
        {
            return proofs == 0
                ? (RefusalCodes.ProxyDpopProofMissing, "invalid_dpop_proof", "a DPoP proof is required with the DPoP scheme")
                : (RefusalCodes.ProxyDpopSeveralProofs, "invalid_dpop_proof", "send exactly one DPoP header");
        }

        var proof = await dpop.ValidateAsync(proofValue!, request.Method, queryStart >= 0 ? raw[..queryStart] : raw, token, request.Aborted);
        if (!proof.IsValid)
        {
            return proof.UseNonce
                ? (RefusalCodes.ProxyDpopNonceRequired, "use_dpop_nonce", proof.Error!)
                : (RefusalCodes.ProxyDpopInvalidProof, "invalid_dpop_proof", proof.Error!);
        }

        // Reject a proof made with any key but the one the token is bound to.
        return string.Equals(proof.Jkt, claims.Jkt, StringComparison.Ordinal)
            ? null
            : (RefusalCodes.ProxyDpopKeyMismatch, "invalid_dpop_proof", "the DPoP proof's key is not the key the token is bound to");
    }

    /// <summary>
    /// The one access token of <paramref name="request"/> (RFC 6750 §2.1, RFC 9449 §7.1), or null:
    /// with <paramref name="problem"/> set when the request is malformed (several Authorization
    /// headers), unset when it simply carries none.
    /// </summary>
    public static string? Read<TRequest>(TRequest request, out bool dpopScheme, out string? problem)
        where TRequest : IProxyRequest
    {
        problem = null;
        dpopScheme = false;
        var count = request.Header("Authorization", out var first);
        if (count == 0)
        {
            return null;
        }

        if (count > 1)
        {
            problem = "more than one Authorization header";
            return null;
        }

        var header = first ?? "";
        string scheme;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "Bearer ";
        }
        else if (header.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase))
        {
            scheme = "DPoP ";
            dpopScheme = true;
        }
        else
        {
            return null;
        }

        var token = header[scheme.Length..].Trim();
        return token.Length == 0 ? null : token;
    }
}
