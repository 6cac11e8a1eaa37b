using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Tessera.Server.Tests.Infrastructure;

/// <summary>
/// A real HTTP server on a loopback port standing in for a tool's upstream. It records every request
/// that reaches it (request line, headers, body), so tests can prove what arrived and what never did.
/// </summary>
public sealed class TestUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource<ReceivedRequest>> _arrivals = [];

    private TestUpstream(WebApplication app)
    {
        _app = app;
        Address = new Uri(app.Urls.First());
    }

    public Uri Address { get; }

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    /// <summary>Completes when the <paramref name="n"/>th request (counting from 1) has arrived: background traffic awaited without sleeping.</summary>
    public Task<ReceivedRequest> ArrivalAsync(int n)
    {
        lock (_lock)
        {
            return Arrival(n).Task;
        }
    }

    private TaskCompletionSource<ReceivedRequest> Arrival(int n)
    {
        while (_arrivals.Count < n)
        {
            _arrivals.Add(new TaskCompletionSource<ReceivedRequest>(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        return _arrivals[n - 1];
    }

    private void Record(ReceivedRequest request)
    {
        lock (_lock)
        {
            Received.Enqueue(request);
            Arrival(Received.Count).TrySetResult(request);
        }
    }

    /// <summary>Replaces the default answer (200 with a small JSON body); used to delay or fail.</summary>
    public Func<HttpContext, Task>? Handler { get; set; }

    /// <summary>Answers every request with <paramref name="status"/> and no body (a failing receiver).</summary>
    public void AnswerWith(int status) => Handler = context =>
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    };

    /// <summary>Takes every request and never answers, until the caller gives up and aborts it (a hung upstream).</summary>
    public void NeverAnswer() => Handler = context =>
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context.RequestAborted.Register(aborted.SetResult);
        return aborted.Task;
    };

    public static async Task<TestUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        TestUpstream? upstream = null;
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            upstream!.Record(new ReceivedRequest(
                context.Request.Method,
                context.Features.Get<IHttpRequestFeature>()!.RawTarget,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body.ToArray()));
            if (upstream.Handler is { } handler)
            {
                await handler(context);
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"ok\":true}");
        });
        await app.StartAsync();
        upstream = new TestUpstream(app);
        return upstream;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record ReceivedRequest(string Method, string RawTarget, IReadOnlyDictionary<string, string> Headers, byte[] Body);
