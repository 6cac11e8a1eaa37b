namespace Tessera.Core.Tokens;

/// <summary>
/// Where a signing key stands, as the admin API (and any console) shows it: the one key that signs
/// now, a key yet to activate (published ahead, so verifiers know it before it signs), or a key
/// superseded by a newer one (published until its last token has expired).
/// </summary>
public static class SigningKeyStatus
{
    public const string Signing = "signing";
    public const string Pending = "pending";
    public const string Retiring = "retiring";

    public static string Of(SigningKeyRing ring, SigningKey key, DateTimeOffset now) =>
        key == ring.SigningKeyAt(now) ? Signing : key.ActivatesAt > now ? Pending : Retiring;
}
