using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

// The floor under every Tessera figure: read the request, sign one ES256 JWT of the same shape as a
// Tessera access token, write it as an OAuth token response. Nothing else: no auth, no audit, no storage.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var header = Base64Url.EncodeToString("""{"alg":"ES256","kid":"ceiling-key-0000000000000000000000000000000","typ":"at+jwt"}"""u8);

app.MapPost("/token", async (HttpContext context) =>
{
    var form = await context.Request.ReadFormAsync();
    var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
    var payload = new ArrayBufferWriter<byte>(512);
    using (var w = new Utf8JsonWriter(payload))
    {
        w.WriteStartObject();
        w.WriteString("iss", "http://127.0.0.1:8080");
        w.WriteString("sub", "bench-agent");
        w.WriteString("aud", "urn:tessera:tool:crm");
        w.WriteString("client_id", "bench-agent");
        w.WriteString("scope", form["scope"].ToString());
        w.WriteString("jti", Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)));
        w.WriteNumber("iat", now);
        w.WriteNumber("exp", now + 600);
        w.WriteEndObject();
    }

    var signingInput = header + "." + Base64Url.EncodeToString(payload.WrittenSpan);
    var signature = key.SignData(System.Text.Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
    var token = signingInput + "." + Base64Url.EncodeToString(signature);
    context.Response.ContentType = "application/json";
    await using var body = new Utf8JsonWriter(context.Response.BodyWriter);
    body.WriteStartObject();
    body.WriteString("access_token", token);
    body.WriteString("token_type", "Bearer");
    body.WriteNumber("expires_in", 600);
    body.WriteEndObject();
    await body.FlushAsync();
});

app.Run();
