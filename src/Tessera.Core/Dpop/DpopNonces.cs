using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Tessera.Core.Vault;

namespace Tessera.Core.Dpop;

/// <summary>
/// Server nonces for DPoP (RFC 9449 §8–9), stateless: HMAC of the current time window under a key
/// derived from the master key, so every node issues and accepts the same nonces without sharing
/// state. A nonce is accepted in its window and the next one (one to two minutes).
/// </summary>
public sealed class DpopNonces(MasterKey masterKey, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly byte[] _key = masterKey.Derive("tessera/dpop/nonce"u8, "tessera/dpop/nonce/v1");

    /// <summary>The nonce to hand out now (the <c>DPoP-Nonce</c> header).</summary>
    public string Current() => For(WindowAt(time.GetUtcNow()));

    public bool IsValid(string? nonce)
    {
        if (nonce is null)
        {
            return false;
        }

        var window = WindowAt(time.GetUtcNow());
        var given = Encoding.ASCII.GetBytes(nonce);
        return CryptographicOperations.FixedTimeEquals(given, Encoding.ASCII.GetBytes(For(window)))
            | CryptographicOperations.FixedTimeEquals(given, Encoding.ASCII.GetBytes(For(window - 1)));
    }

    private static long WindowAt(DateTimeOffset now) => now.ToUnixTimeSeconds() / (long)Window.TotalSeconds;

    private string For(long window) => Base64UrlEncoder.Encode(HMACSHA256.HashData(_key, BitConverter.GetBytes(window)));
}
