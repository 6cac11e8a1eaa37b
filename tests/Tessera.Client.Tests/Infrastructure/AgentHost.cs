using System.Net.Sockets;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Client;

namespace Tessera.Client.Tests.Infrastructure;

/// <summary>
/// An agent process in miniature: a service provider with <c>AddTesseraAgent</c>, whose HTTP clients
/// reach the test broker at its issuer (<c>http://tessera.test</c>, routed to the broker's loopback
/// port or in-memory server, as DNS would), on the broker's clock, counting the token requests it sends.
/// </summary>
public sealed class AgentHost : IAsyncDisposable
{
    private int _tokenRequests;

    private AgentHost(ServiceProvider services)
    {
        Services = services;
        Agent = services.GetRequiredService<ITesseraAgent>();
    }

    public ServiceProvider Services { get; }

    public ITesseraAgent Agent { get; }

    /// <summary>Requests that reached the broker's token endpoint from this agent.</summary>
    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>Token requests are held here until released, when set (to gather concurrent callers first).</summary>
    public TaskCompletionSource? HoldTokenRequests { get; set; }

    /// <summary>Completes when the first token request reaches the wire.</summary>
    public TaskCompletionSource FirstTokenRequest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static AgentHost Create(TestBroker broker, Action<TesseraAgentOptions> configure, Action<IServiceCollection, Func<HttpMessageHandler>>? more = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(broker.Time);
        AgentHost? host = null;
        services.AddTesseraAgent(o =>
        {
            o.Authority = new Uri(TestBroker.Issuer);
            configure(o);
        });
        services.AddHttpClient(TesseraAgentOptions.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => PrimaryHandler(broker))
            .AddHttpMessageHandler(() => new CountingHandler(() => host!));
        more?.Invoke(services, () => PrimaryHandler(broker));
        host = new AgentHost(services.BuildServiceProvider());
        return host;
    }

    /// <summary>Connects every request for the issuer's host to the broker.</summary>
    public static HttpMessageHandler PrimaryHandler(TestBroker broker)
    {
        if (!broker.RealHttp)
        {
            return broker.App.GetTestServer().CreateHandler();
        }

        var address = broker.Address!;
        return new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(address.Host, address.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();

    private sealed class CountingHandler(Func<AgentHost> host) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == "/oauth/token")
            {
                var agent = host();
                Interlocked.Increment(ref agent._tokenRequests);
                agent.FirstTokenRequest.TrySetResult();
                if (agent.HoldTokenRequests is { } hold)
                {
                    await hold.Task.WaitAsync(cancellationToken);
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
