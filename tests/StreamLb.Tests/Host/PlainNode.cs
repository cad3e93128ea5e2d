using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using StreamLb.Tests.Configuration;

namespace StreamLb.Tests.Host;

/// <summary>
/// For tests of the program as a process: a node with one plain <c>listen</c> on a free port in front of one backend,
/// and plain TCP clients that echo text through it.
/// </summary>
internal static partial class PlainNode
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Writes the node's config to <paramref name="folder"/> and returns its path.</summary>
    public static string Config(TempFolder folder, int backendPort) => folder.Write("plain.conf", $$"""
        stream {
            upstream backend { server 127.0.0.1:{{backendPort}}; }
            server { listen 127.0.0.1:0; proxy_pass backend; }
        }
        """);

    /// <summary>The port the node logs it listens on.</summary>
    public static async Task<int> ListeningPort(NodeProcess node, TimeSpan timeout) =>
        int.Parse(ListeningOn().Match(await node.WaitForLine("listening on 127.0.0.1:", timeout)).Groups[1].Value);

    public static async Task<Socket> Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="text"/> and reads as many bytes back.</summary>
    public static async Task<string> RoundTrip(Socket socket, string text)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None);
        return await Read(socket, text.Length);
    }

    public static async Task<string> Read(Socket socket, int length)
    {
        var received = new byte[length];
        await new NetworkStream(socket, ownsSocket: false).ReadExactlyAsync(received).AsTask().WaitAsync(Patience);
        return Encoding.ASCII.GetString(received);
    }

    /// <summary>A <see cref="Integration.RawBackend"/> handler: echoes until the peer's end, then ends its side.</summary>
    public static async Task Echo(Socket socket)
    {
        var buffer = new byte[1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
            await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
        socket.Shutdown(SocketShutdown.Send);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}
