using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Tessera.Core.Tokens;

/// <summary>
/// The one JSON shape of Tessera's published keys (a P-256 public key with its kid, use and alg), as the
/// JWKS endpoint serves them and as an exported audit checkpoint file carries them: written member by
/// member, so no private member can ever slip in.
/// </summary>
public static class PublicJwkJson
{
    public static void Write(Utf8JsonWriter writer, JsonWebKey jwk)
    {
        writer.WriteStartObject();
        writer.WriteString("kty", jwk.Kty);
        writer.WriteString("crv", jwk.Crv);
        writer.WriteString("x", jwk.X);
        writer.WriteString("y", jwk.Y);
        writer.WriteString("kid", jwk.Kid);
        writer.WriteString("use", jwk.Use);
        writer.WriteString("alg", jwk.Alg);
        writer.WriteEndObject();
    }
}
