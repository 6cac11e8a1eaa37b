using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Tessera.Credentials.Postgres;

/// <summary>
/// The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), in its
/// <c>rolpassword</c> form: <c>SCRAM-SHA-256$&lt;iterations&gt;:&lt;salt&gt;$&lt;StoredKey&gt;:&lt;ServerKey&gt;</c>.
/// A lease's role is created with this instead of its password, so the password never reaches
/// the server: a statement log (<c>log_statement = ddl</c>) or <c>pg_stat_statements</c> would
/// otherwise keep it in cleartext. Hand-written because nothing we may use makes one: the framework
/// has the primitives (PBKDF2, HMAC, SHA-256) and Npgsql speaks only the client side of SCRAM.
/// </summary>
internal static class ScramVerifier
{
    /// <summary>PostgreSQL's own default (<c>scram_iterations</c>).</summary>
    public const int Iterations = 4096;

    private const int SaltLength = 16;

    /// <summary>Every character a verifier is made of: the prefix, digits, separators and the base64 alphabet. Nothing here can end an SQL string literal.</summary>
    public static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=$:-");

    /// <summary>The verifier of <paramref name="password"/> with a new random salt.</summary>
    public static string Create(string password) => Compute(password, RandomNumberGenerator.GetBytes(SaltLength), Iterations);

    /// <summary>
    /// The verifier of <paramref name="password"/> for <paramref name="salt"/> and <paramref name="iterations"/>.
    /// PostgreSQL first normalizes a password with SASLprep; Tessera's passwords are base64url, which
    /// SASLprep leaves as it is, so their UTF-8 bytes are hashed directly.
    /// </summary>
    public static string Compute(string password, ReadOnlySpan<byte> salt, int iterations)
    {
        Span<byte> salted = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> clientKey = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> storedKey = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> serverKey = stackalloc byte[SHA256.HashSizeInBytes];
        try
        {
            // SaltedPassword = Hi(password, salt, i), which is PBKDF2 with HMAC-SHA-256 (RFC 5802 section 2.2).
            Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, salted, iterations, HashAlgorithmName.SHA256);
            HMACSHA256.HashData(salted, "Client Key"u8, clientKey);
            SHA256.HashData(clientKey, storedKey);
            HMACSHA256.HashData(salted, "Server Key"u8, serverKey);
            return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(salted);
            CryptographicOperations.ZeroMemory(clientKey);
        }
    }
}
