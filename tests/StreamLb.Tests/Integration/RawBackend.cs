using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace StreamLb.Tests.Integration;

/// <summary>A loopback TCP backend that runs <c>handler</c> on every accepted socket, for close and half-close tests.</summary>
internal sealed class RawBackend : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RawBackend(Func<Socket, Task> handler)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _ = AcceptLoop(handler);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    private async Task AcceptLoop(Func<Socket, Task> handler)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (socket)
                    await handler(socket);
            });
        }
    }

    /// <summary>Reads until the peer half-closes and returns everything read.</summary>
    public static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var all = new MemoryStream();
        await stream.CopyToAsync(all);
        return all.ToArray();
    }

    /// <summary>A TLS client on a raw socket, trusting the test certificate.</summary>
    public static async Task<(Socket Socket, SslStream Tls)> ConnectTlsAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        return (socket, tls);
    }

    public void Dispose() => _listener.Dispose();
}
