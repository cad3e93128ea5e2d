using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Akka.Event;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary>Backends that refuse or never answer: next upstream, passive health, and prompt closes with a reason.</summary>
public sealed class UpstreamFailureTests(ITestOutputHelper output) : TestKit(NodeHocon.Default, output)
{
    [Fact]
    public async Task A_refusing_backend_is_skipped_for_the_next_one_and_marked_failed_after_max_fails()
    {
        await using var echo = await EchoServer.StartAsync("127.0.0.1", 0);
        var refusing = NodeHarness.RefusingPort();
        var node = await NodeHarness.StartAsync(this, TestConfigs.Tls(
            $"server 127.0.0.1:{refusing} max_fails=2 fail_timeout=5m; server {echo.EndPoint};"));

        // Round robin sends every other pick to the refusing server until it has failed twice.
        for (var i = 0; i < 6; i++)
        {
            var client = await WebSocketClient.ConnectAsync(node.Port());
            var (echoed, _) = await client.EchoAsync([1, 2, 3, (byte)i], WebSocketMessageType.Binary);
            Assert.Equal([1, 2, 3, (byte)i], echoed);
            await client.CloseAsync();
        }

        node.ExpectWarning($"connect to 127.0.0.1:{refusing} failed");
        var snapshot = await node.Snapshot();
        Assert.Equal(ServerState.Failed, snapshot.Servers.Single(s => s.Address == $"127.0.0.1:{refusing}").State);
        Assert.Equal(6, echo.TotalConnections);
        await node.AssertDrainedAsync();
    }

    [Fact]
    public async Task With_every_backend_down_the_client_is_closed_with_a_log_line_naming_the_upstream()
    {
        var node = await NodeHarness.StartAsync(this, TestConfigs.Tls(
            $"server 127.0.0.1:{NodeHarness.RefusingPort()}; server 127.0.0.1:{NodeHarness.RefusingPort()};"));

        await Assert.ThrowsAnyAsync<WebSocketException>(() => WebSocketClient.ConnectAsync(node.Port()).WaitAsync(NodeHarness.Patience));

        var line = node.ExpectWarning("no live upstreams");
        Assert.Contains("upstream \"backend\"", line);
        await node.AssertDrainedAsync();
    }

    [Fact]
    public async Task With_next_upstream_off_a_refused_connect_closes_the_client()
    {
        await using var echo = await EchoServer.StartAsync("127.0.0.1", 0);
        var refusing = NodeHarness.RefusingPort();
        var node = await NodeHarness.StartAsync(this, TestConfigs.Tls(
            $"server 127.0.0.1:{refusing}; server {echo.EndPoint} down;", "proxy_next_upstream off;"));

        await Assert.ThrowsAnyAsync<WebSocketException>(() => WebSocketClient.ConnectAsync(node.Port()).WaitAsync(NodeHarness.Patience));

        Assert.Contains("proxy_next_upstream is off", node.ExpectWarning($"connect to 127.0.0.1:{refusing} failed"));
        Assert.Equal(0, echo.TotalConnections);
        await node.AssertDrainedAsync();
    }

    [Fact]
    public async Task Proxy_connect_timeout_gives_up_on_a_backend_that_never_completes_the_connection()
    {
        using var blackHole = await BlackHole.StartAsync();
        var port = blackHole.Port;
        var node = await NodeHarness.StartAsync(this, TestConfigs.Tls($"server 127.0.0.1:{port};", "proxy_connect_timeout 300ms;"));

        await Assert.ThrowsAnyAsync<WebSocketException>(() => WebSocketClient.ConnectAsync(node.Port()).WaitAsync(NodeHarness.Patience));

        var line = node.ExpectWarning($"connect to 127.0.0.1:{port} failed");
        Assert.Contains("timeout", line, StringComparison.OrdinalIgnoreCase);
        await node.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_client_leaving_while_the_upstream_connect_is_pending_does_not_count_against_the_server()
    {
        using var blackHole = await BlackHole.StartAsync();
        var server = $"127.0.0.1:{blackHole.Port}";
        var node = await NodeHarness.StartAsync(this, TestConfigs.Tls($"server {server} max_fails=1 fail_timeout=5m;", "proxy_connect_timeout 1m;"));

        // Which the connection actor hears first, the connect's end or the relay's, is a race: a few clients each.
        for (var i = 0; i < 6; i++)
        {
            var (socket, tls) = await RawBackend.ConnectTlsAsync(node.Port());
            await AwaitAssertAsync(async () => Assert.Equal(1, (await node.Snapshot()).TotalActive), NodeHarness.Patience);
            // A reset, as a client that quits without reading does: the relay ends at once, the connect with it.
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
            await tls.DisposeAsync();

            node.ExpectLog<Info>($"closed the connection while connecting to {server}");
            await node.AssertDrainedAsync();
        }

        Assert.Equal(ServerState.Up, (await node.Snapshot()).Servers.Single().State);
    }

    /// <summary>A listening socket whose backlog is full: the kernel drops further SYNs, so connects to it hang.</summary>
    private sealed class BlackHole : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly Socket _filler = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static async Task<BlackHole> StartAsync()
        {
            var hole = new BlackHole();
            hole._listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            hole._listener.Listen(0);
            await hole._filler.ConnectAsync(IPAddress.Loopback, hole.Port);
            return hole;
        }

        public void Dispose()
        {
            _filler.Dispose();
            _listener.Dispose();
        }
    }
}
