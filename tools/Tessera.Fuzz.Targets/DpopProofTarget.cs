using System.Text;
using Tessera.Core.Configuration;
using Tessera.Core.Dpop;
using Tessera.Core.Vault;

namespace Tessera.Fuzz.Targets;

/// <summary>
/// The DPoP proof validator. An input starting with <c>{</c> is a proof payload, signed here with a proof
/// header carrying <see cref="FuzzKey"/>, so the claim checks behind the signature are reached; any other
/// input is the whole <c>DPoP</c> header value, so the header, jwk and signature checks are. Either way the
/// outcome is a validation result, valid or with its reason.
/// </summary>
internal static class DpopProofTarget
{
    public const string Issuer = "https://tessera.example";

    private static readonly DpopProofValidator Validator = new(
        AcceptingReplayCache.Instance,
        new DpopNonces(new MasterKey(new byte[32]), FixedClock.Instance),
        new TesseraConfig
        {
            Server = new ServerOptions(new Uri(Issuer), Issuer, false),
            Storage = "sqlite:fuzz.db",
            DataDir = "/nonexistent",
            Tokens = new TokenOptions(TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), 3),
            SigningKeys = new SigningKeyOptions(TimeSpan.FromMinutes(1)),
            Dpop = new DpopOptions(TimeSpan.FromSeconds(60), false),
        },
        FixedClock.Instance);

    private static readonly string Header = $$"""{"typ":"dpop+jwt","alg":"ES256","jwk":{{FuzzKey.Instance.PublicJwk.Replace("\"kid\":\"fuzz\",", "", StringComparison.Ordinal)}}}""";

    public static void Run(ReadOnlySpan<byte> input)
    {
        var proof = !input.IsEmpty && input[0] == (byte)'{' ? FuzzKey.Instance.Sign(Header, input) : Encoding.UTF8.GetString(input);

        // With and without an access token: ath is checked only with one.
        var accessToken = input.Length % 2 == 0 ? null : "fuzz-access-token";
        var result = Validator.ValidateAsync(proof, "POST", "/oauth/token", accessToken, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        if (result.IsValid == (result.Error is not null))
        {
            throw new InvalidOperationException("a DPoP validation is either valid or has a reason");
        }
    }
}
