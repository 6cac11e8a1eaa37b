using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SupportAgent;

/// <summary>
/// A stand-in CRM on a loopback port, reached only through Tessera's proxy: one contact to read and an
/// export endpoint that counts what reached it.
/// </summary>
internal static class CrmStub
{
    public static async Task<WebApplication> StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var exports = 0;
        app.MapGet("/contacts/{id}", (string id) => Results.Json(new { id, name = "Ada Lovelace", email = "ada@example.com", plan = "annual" }));
        app.MapPost("/exports", () => Results.Json(new { export = $"exp-{Interlocked.Increment(ref exports)}", status = "queued" }, statusCode: StatusCodes.Status201Created));
        await app.StartAsync();
        return app;
    }
}
