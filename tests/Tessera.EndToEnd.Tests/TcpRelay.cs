using System.Net.Sockets;

namespace Tessera.EndToEnd.Tests;

/// <summary>
/// Fault injection between one node and PostgreSQL: a loopback listener that relays every connection
/// to <c>127.0.0.1:target</c> byte for byte, until <see cref="Sever"/> resets every relayed
/// connection and refuses (resets) new ones; <see cref="Restore"/> relays again. It imitates nothing:
/// whatever passes through it is the real server's protocol.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<Socket> _open = [];
    private readonly Task _accepting;
    private bool _severed;

    public TcpRelay(int target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port the relay listens on at 127.0.0.1.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Resets every relayed connection, both sides, and every new one from now on.</summary>
    public void Sever()
    {
        Socket[] open;
        lock (_open)
        {
            _severed = true;
            open = [.. _open];
            _open.Clear();
        }

        foreach (var socket in open)
        {
            Reset(socket);
        }
    }

    /// <summary>Relays new connections again (the severed ones stay closed; the client opens new ones).</summary>
    public void Restore()
    {
        lock (_open)
        {
            _severed = false;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (!Track(client))
            {
                Reset(client);
                server.Dispose();
                return;
            }

            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            if (!Track(server))
            {
                Reset(client);
                Reset(server);
                return;
            }

            // Either direction ending (a reset, the server closing, Sever) ends both.
            await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception)
        {
            // A connection that fails here is the fault being injected, or the test ending.
        }

        Untrack(client);
        Untrack(server);
        Reset(client);
        Reset(server);
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception)
        {
            // Reset by Sever or by either peer: the relay of this connection ends.
        }
    }

    private bool Track(Socket socket)
    {
        lock (_open)
        {
            return !_severed && _open.Add(socket);
        }
    }

    private void Untrack(Socket socket)
    {
        lock (_open)
        {
            _open.Remove(socket);
        }
    }

    /// <summary>Closes with a reset (linger 0), as a cut network or a dead middlebox would look to both ends.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception)
        {
            // Already closed.
        }

        socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Sever();
        _stop.Dispose();
    }
}
