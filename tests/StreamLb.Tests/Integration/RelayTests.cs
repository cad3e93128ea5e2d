using System.Net.WebSockets;
using Akka.TestKit.Xunit2;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary>wss:// clients through a node to real echo backends: the seed's scenario end to end.</summary>
public sealed class RelayTests(ITestOutputHelper output) : TestKit(NodeHocon.Default, output), IAsyncLifetime
{
    private EchoServer[] _backends = [];
    private NodeHarness _node = null!;

    public async Task InitializeAsync()
    {
        _backends = await NodeHarness.StartEchoBackends(2);
        _node = await NodeHarness.StartAsync(this, $$"""
            stream {
                upstream backend {
                    least_conn;
                    server {{_backends[0].EndPoint}};
                    server {{_backends[1].EndPoint}};
                }
                server {
                    listen 127.0.0.1:0 ssl;
                    listen 127.0.0.1:0;
                    ssl_certificate {cert};
                    ssl_certificate_key {key};
                    proxy_connect_timeout 10s;
                    proxy_timeout 10s;
                    proxy_pass backend;
                }
            }
            """);
    }

    public async Task DisposeAsync()
    {
        foreach (var backend in _backends)
            await backend.DisposeAsync();
    }

    [Theory]
    [InlineData(1, WebSocketMessageType.Text)]
    [InlineData(1, WebSocketMessageType.Binary)]
    [InlineData(125, WebSocketMessageType.Text)]
    [InlineData(16 * 1024 + 7, WebSocketMessageType.Binary)]
    [InlineData(64 * 1024 + 1, WebSocketMessageType.Text)]
    [InlineData(1024 * 1024, WebSocketMessageType.Binary)]
    [InlineData(1024 * 1024, WebSocketMessageType.Text)]
    public async Task Messages_from_one_byte_to_one_MiB_come_back_intact(int size, WebSocketMessageType type)
    {
        var payload = Payload(size, type, seed: size);
        var client = await WebSocketClient.ConnectAsync(_node.Port());

        var (echoed, echoedType) = await client.EchoAsync(payload, type);
        var (again, _) = await client.EchoAsync(payload, type);

        Assert.Equal(type, echoedType);
        Assert.Equal(payload, echoed);
        Assert.Equal(payload, again);
        await client.CloseAsync();
        await _node.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_plain_tcp_listen_relays_too()
    {
        var payload = Payload(100_000, WebSocketMessageType.Binary, seed: 3);
        var client = await WebSocketClient.ConnectAsync(_node.Port(listener: 1), tls: false);

        var (echoed, _) = await client.EchoAsync(payload, WebSocketMessageType.Binary);

        Assert.Equal(payload, echoed);
        await client.CloseAsync();
        await _node.AssertDrainedAsync();
    }

    [Fact]
    public async Task Hundred_concurrent_clients_all_echo_and_least_conn_spreads_them_evenly()
    {
        const int clients = 100;
        var sockets = await Task.WhenAll(Enumerable.Range(0, clients).Select(async i =>
        {
            var socket = await WebSocketClient.ConnectAsync(_node.Port());
            var payload = Payload(1000 + i, WebSocketMessageType.Text, seed: i);
            var (echoed, _) = await socket.EchoAsync(payload, WebSocketMessageType.Text);
            Assert.Equal(payload, echoed);
            return socket;
        }));

        // All held open: least_conn must have split them evenly, in the balancer and at the backends.
        var snapshot = await _node.Snapshot();
        Assert.Equal([clients / 2, clients / 2], snapshot.Servers.Select(s => s.Active));
        await AwaitAssertAsync(() => Assert.Equal([clients / 2, clients / 2], _backends.Select(b => b.ActiveConnections)), NodeHarness.Patience);
        Assert.Equal(clients, _node.Node.Limit.Open);

        await Task.WhenAll(sockets.Select(s => s.CloseAsync()));
        await _node.AssertDrainedAsync();
        await AwaitAssertAsync(() => Assert.All(_backends, b => Assert.Equal(0, b.ActiveConnections)), NodeHarness.Patience);
    }

    internal static byte[] Payload(int size, WebSocketMessageType type, int seed)
    {
        var random = new Random(seed);
        var payload = new byte[size];
        if (type == WebSocketMessageType.Binary)
            random.NextBytes(payload);
        else
            for (var i = 0; i < size; i++)
                payload[i] = (byte)random.Next(0x20, 0x7f);
        return payload;
    }
}
