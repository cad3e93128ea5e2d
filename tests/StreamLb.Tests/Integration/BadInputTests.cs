using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Akka.Event;
using Akka.TestKit.Xunit2;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary>Garbage on the TLS port is closed with a log line while a good client next to it keeps echoing.</summary>
public sealed class BadInputTests(ITestOutputHelper output) : OneBackendNodeSpec(output)
{
    public static TheoryData<string, byte[]> BadInputs() => new()
    {
        { "random bytes", RandomBytes() },
        { "a plaintext HTTP request", Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n") },
        { "a truncated ClientHello", TruncatedClientHello() },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_closed_with_a_log_line_and_a_good_client_keepsEchoing(string what, byte[] input)
    {
        var good = await WebSocketClient.ConnectAsync(Node.Port());
        await good.EchoAsync(Encoding.ASCII.GetBytes("before"), WebSocketMessageType.Text);

        Sys.Log.Info("sending {0} to the TLS port", what);
        using var bad = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await bad.ConnectAsync(IPAddress.Loopback, Node.Port());
        await bad.SendAsync(input);
        bad.Shutdown(SocketShutdown.Send);
        // Fails with a timeout unless the node closes the connection that sent the bad input.
        await ReadUntilClosed(bad).WaitAsync(NodeHarness.Patience);

        Assert.Contains("SSL handshake with client", Node.ExpectWarning("failed"));
        var (echoed, _) = await good.EchoAsync(Encoding.ASCII.GetBytes("after"), WebSocketMessageType.Text);
        Assert.Equal("after", Encoding.ASCII.GetString(echoed));
        await good.CloseAsync();
        await Node.AssertDrainedAsync();
    }

    /// <summary>Reads (an alert, maybe) until the node closes the connection.</summary>
    private static async Task ReadUntilClosed(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }

    private static byte[] RandomBytes()
    {
        var bytes = new byte[3000];
        new Random(7).NextBytes(bytes);
        bytes[0] = 0x99; // not a TLS record type
        return bytes;
    }

    /// <summary>A TLS record header announcing a 512-byte ClientHello, followed by only its first bytes.</summary>
    private static byte[] TruncatedClientHello()
    {
        var hello = new List<byte> { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03 };
        hello.AddRange(Enumerable.Repeat((byte)0xab, 32));
        return hello.ToArray();
    }
}
