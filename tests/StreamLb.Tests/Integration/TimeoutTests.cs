using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Akka.Event;
using Akka.TestKit.Xunit2;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary><c>proxy_timeout</c> closes idle relays; <c>ssl_handshake_timeout</c> closes clients that never finish the handshake.</summary>
public sealed class TimeoutTests(ITestOutputHelper output)
    : OneBackendNodeSpec(output, serverExtra: "ssl_handshake_timeout 500ms; proxy_timeout 1s;")
{
    [Fact]
    public async Task Proxy_timeout_closes_a_relay_with_no_bytes_in_either_direction()
    {
        var client = await WebSocketClient.ConnectAsync(Node.Port());
        var (echoed, _) = await client.EchoAsync([42], WebSocketMessageType.Binary);
        Assert.Equal([42], echoed);

        // The next read only ends because the node closes the idle connection.
        await Assert.ThrowsAnyAsync<WebSocketException>(() => client.ReceiveAsync(new byte[16], CancellationToken.None).WaitAsync(NodeHarness.Patience));

        Assert.Contains("proxy_timeout", Node.ExpectLog<Info>("timed out"));
        await Node.AssertDrainedAsync();
        await AwaitAssertAsync(() => Assert.Equal(0, Echo.ActiveConnections), NodeHarness.Patience);
    }

    [Fact]
    public async Task Ssl_handshake_timeout_closes_a_client_that_never_finishes_the_handshake()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, Node.Port());

        var read = await socket.ReceiveAsync(new byte[16]).WaitAsync(NodeHarness.Patience);

        Assert.Equal(0, read);
        Assert.Contains("ssl_handshake_timeout", Node.ExpectWarning("timed out"));
        await Node.AssertDrainedAsync();
    }
}
