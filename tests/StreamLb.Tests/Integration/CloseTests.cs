using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.TestKit.Xunit2;
using StreamLb.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Integration;

/// <summary>Closing either side closes the other; a half-close passes through in both directions.</summary>
public sealed class CloseTests(ITestOutputHelper output) : TestKit(NodeHocon.Default, output)
{
    private Task<NodeHarness> StartNode(int backendPort) => NodeHarness.StartAsync(this, $$"""
        stream {
            upstream backend { server 127.0.0.1:{{backendPort}}; }
            server {
                listen 127.0.0.1:0 ssl;
                listen 127.0.0.1:0;
                ssl_certificate {cert};
                ssl_certificate_key {key};
                proxy_pass backend;
            }
        }
        """);

    [Fact]
    public async Task Client_closing_closes_the_backend_connection()
    {
        var backendSawEnd = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var read = await RawBackend.ReadToEndAsync(new NetworkStream(socket));
            backendSawEnd.TrySetResult(read.Length);
        });
        var node = await StartNode(backend.Port);

        var (socket, tls) = await RawBackend.ConnectTlsAsync(node.Port());
        await tls.WriteAsync("hello"u8.ToArray());
        socket.Close();

        Assert.Equal(5, await backendSawEnd.Task.WaitAsync(NodeHarness.Patience));
        await node.AssertDrainedAsync();
    }

    [Fact]
    public async Task Backend_closing_closes_the_client()
    {
        using var backend = new RawBackend(async socket =>
        {
            await socket.SendAsync("bye"u8.ToArray());
            socket.Shutdown(SocketShutdown.Both);
        });
        var node = await StartNode(backend.Port);

        var (_, tls) = await RawBackend.ConnectTlsAsync(node.Port());
        var received = await RawBackend.ReadToEndAsync(tls).WaitAsync(NodeHarness.Patience);

        Assert.Equal("bye", Encoding.ASCII.GetString(received));
        await node.AssertDrainedAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_half_close_reaches_the_backend_and_its_answer_still_comes_back(bool tls)
    {
        // The backend answers only after it has seen the end of the request: that needs the half-close to pass.
        using var backend = new RawBackend(async socket =>
        {
            var request = await RawBackend.ReadToEndAsync(new NetworkStream(socket));
            await socket.SendAsync(Encoding.ASCII.GetBytes($"got {request.Length} bytes"));
            socket.Shutdown(SocketShutdown.Send);
        });
        var node = await StartNode(backend.Port);
        var request = new byte[300_000];
        Random.Shared.NextBytes(request);

        byte[] answer;
        if (tls)
        {
            var (_, stream) = await RawBackend.ConnectTlsAsync(node.Port(0));
            await stream.WriteAsync(request);
            await stream.ShutdownAsync();
            answer = await RawBackend.ReadToEndAsync(stream).WaitAsync(NodeHarness.Patience);
        }
        else
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, node.Port(1));
            await socket.SendAsync(request);
            socket.Shutdown(SocketShutdown.Send);
            answer = await RawBackend.ReadToEndAsync(new NetworkStream(socket)).WaitAsync(NodeHarness.Patience);
        }

        Assert.Equal($"got {request.Length} bytes", Encoding.ASCII.GetString(answer));
        await node.AssertDrainedAsync();
    }
}
