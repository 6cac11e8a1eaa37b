using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Tessera.CrashTest;

/// <summary>
/// The tool behind the proxy: records the path of every request it receives (each proxied call of
/// the load has a path of its own) before it answers 200, so that every request that reached it
/// can be matched to its <c>proxy.forwarded</c> event.
/// </summary>
internal sealed class RecordingUpstream : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<string> _received = new();

    public RecordingUpstream()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>The paths received since the last call, in arrival order.</summary>
    public List<string> Drain()
    {
        var paths = new List<string>();
        while (_received.TryDequeue(out var path))
        {
            paths.Add(path);
        }

        return paths;
    }

    private async Task AcceptAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _received.Enqueue(context.Request.Url!.AbsolutePath);
            try
            {
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                context.Response.ContentLength64 = 2;
                await context.Response.OutputStream.WriteAsync("{}"u8.ToArray());
                context.Response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
            {
                // Tessera was killed while this answer was on its way: it was received all the same.
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => _listener.Close();
}
