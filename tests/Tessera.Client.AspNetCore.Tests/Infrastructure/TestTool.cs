using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tessera.Client.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A tool that validates Tessera tokens itself, as its author would write it: Kestrel on a loopback
/// port, <c>AddTesseraToken</c> against the broker, <c>GET /contacts/{id}</c> requiring <c>crm:read</c>
/// (it answers the claims it saw), <c>POST /exports</c> requiring <c>crm:export</c> and <c>DELETE /contacts/{id}</c> requiring the approval-gated <c>crm:delete</c>. Shares the
/// broker's clock. Every log line is captured.
/// </summary>
public sealed class TestTool : IAsyncDisposable
{
    private TestTool(WebApplication app, CapturingLoggerProvider logs)
    {
        App = app;
        Logs = logs;
        Address = new Uri(app.Urls.First());
        Client = new HttpClient { BaseAddress = Address };
    }

    public WebApplication App { get; }
    public CapturingLoggerProvider Logs { get; }
    public Uri Address { get; }
    public HttpClient Client { get; }

    /// <summary>The URI a DPoP proof for <paramref name="path"/> on this tool names.</summary>
    public string Htu(string path) => new Uri(Address, path).AbsoluteUri;

    public static async Task<TestTool> StartAsync(ToolBroker broker, Action<TesseraTokenOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var logs = new CapturingLoggerProvider();
        logs.AddTo(builder);
        builder.Services.AddSingleton<TimeProvider>(broker.Time);
        builder.Services.AddAuthentication().AddTesseraToken(o =>
        {
            o.Authority = broker.Issuer;
            o.Audience = ToolBroker.Audience;
            o.RequireHttpsMetadata = false;
            configure?.Invoke(o);
        });
        builder.Services.AddAuthorization();
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/contacts/{id}", (ClaimsPrincipal user) => Results.Json(Describe(user)))
            .RequireAuthorization(p => p.RequireScope("crm:read"));
        app.MapPost("/exports", () => Results.Ok())
            .RequireAuthorization(p => p.RequireScope("crm:export"));
        app.MapDelete("/contacts/{id}", () => Results.NoContent())
            .RequireAuthorization(p => p.RequireScope("crm:delete"));
        await app.StartAsync();
        return new TestTool(app, logs);
    }

    /// <summary>What the tool saw of its caller: the claims, and the actor chain from <see cref="ClaimsIdentity.Actor"/>.</summary>
    private static Dictionary<string, object?> Describe(ClaimsPrincipal user)
    {
        var identity = (ClaimsIdentity)user.Identity!;
        var actors = new List<string?>();
        for (var actor = identity.Actor; actor is not null; actor = actor.Actor)
        {
            actors.Add(actor.Name);
        }

        return new()
        {
            ["name"] = identity.Name,
            ["scheme"] = identity.AuthenticationType,
            ["sub"] = user.FindFirst(TesseraClaimTypes.Subject)?.Value,
            ["client_id"] = user.FindFirst(TesseraClaimTypes.ClientId)?.Value,
            ["scope"] = user.FindFirst(TesseraClaimTypes.Scope)?.Value,
            ["mission"] = user.FindFirst(TesseraClaimTypes.Mission)?.Value,
            ["purpose"] = user.FindFirst(TesseraClaimTypes.Purpose)?.Value,
            ["act"] = user.FindFirst(TesseraClaimTypes.Actor)?.Value,
            ["actors"] = actors,
        };
    }

    /// <summary>GET <paramref name="path"/> with <c>Authorization: Bearer</c>.</summary>
    public Task<HttpResponseMessage> GetBearerAsync(string path, string token) => SendAsync(HttpMethod.Get, path, "Bearer", token);

    /// <summary>Sends with <c>Authorization: SCHEME TOKEN</c> and, when given, one <c>DPoP</c> header.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? scheme, string? token, string? proof = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (scheme is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        }

        if (proof is not null)
        {
            request.Headers.TryAddWithoutValidation("DPoP", proof);
        }

        return await Client.SendAsync(request);
    }

    /// <summary>The <c>WWW-Authenticate</c> values of <paramref name="response"/>, joined.</summary>
    public static string Challenge(HttpResponseMessage response) =>
        string.Join(" | ", response.Headers.TryGetValues("WWW-Authenticate", out var values) ? values : []);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
