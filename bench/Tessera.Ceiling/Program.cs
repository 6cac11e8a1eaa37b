using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Yarp.ReverseProxy.Forwarder;

// The floor under every Tessera figure: read the request, sign one ES256 JWT of the same shape as a
// Tessera access token, write it as an OAuth token response. Nothing else: no auth, no audit, no storage.
// With CEILING_UPSTREAM and CEILING_UPSTREAM_KEY set it is also the floor under the proxy:
// /proxy/crm/{**path} forwarded with YARP's forwarder and the same handler settings as Tessera's
// proxy, the key set in X-Api-Key and Authorization removed. No token, no rules, no vault, no audit.
// With CEILING_MCP_UPSTREAM (an MCP endpoint URL) and CEILING_MCP_AUTH it is the floor under the MCP
// gateway: POST /proxy/issues forwarded to that endpoint the same way, Authorization replaced by
// CEILING_MCP_AUTH. No token, no JSON-RPC reading, no rules, no list filtering.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddHttpForwarder();
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

// The same handler settings as Tessera's ToolProxy.
var client = new HttpMessageInvoker(new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    ConnectTimeout = TimeSpan.FromSeconds(10),
    EnableMultipleHttp2Connections = true,
    ActivityHeadersPropagator = null,
});
var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
if (Environment.GetEnvironmentVariable("CEILING_UPSTREAM") is { Length: > 0 } upstream)
{
    var apiKey = Environment.GetEnvironmentVariable("CEILING_UPSTREAM_KEY") ?? "";
    var transformer = new KeyTransformer(apiKey);
    app.Map("/proxy/crm/{**path}", async (HttpContext context) =>
    {
        if (await forwarder.SendAsync(context, upstream.TrimEnd('/'), client, ForwarderRequestConfig.Empty, transformer) != ForwarderError.None && !context.Response.HasStarted)
        {
            context.Response.StatusCode = 502;
        }
    });
}

if (Environment.GetEnvironmentVariable("CEILING_MCP_UPSTREAM") is { Length: > 0 } mcpUpstream)
{
    var transformer = new McpCredentialTransformer(new Uri(mcpUpstream), Environment.GetEnvironmentVariable("CEILING_MCP_AUTH") ?? "");
    app.MapPost("/proxy/issues", async (HttpContext context) =>
    {
        if (await forwarder.SendAsync(context, mcpUpstream, client, ForwarderRequestConfig.Empty, transformer) != ForwarderError.None && !context.Response.HasStarted)
        {
            context.Response.StatusCode = 502;
        }
    });
}

app.Run();

internal sealed class KeyTransformer(string apiKey) : HttpTransformer
{
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        var path = httpContext.Request.Path.Value!["/proxy/crm".Length..];
        proxyRequest.RequestUri = new Uri(destinationPrefix + path + httpContext.Request.QueryString.Value);
        proxyRequest.Headers.Host = null;
        proxyRequest.Headers.Remove("Authorization");
        proxyRequest.Headers.TryAddWithoutValidation("X-Api-Key", apiKey);
    }
}
