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
    private Task<NodeHarness> StartNode(int backendPort, string halfClose = "on") => NodeHarness.StartAsync(this, $$"""
        stream {
            upstream backend { server 127.0.0.1:{{backendPort}}; }
            server {
                listen 127.0.0.1:0 ssl;
                listen 127.0.0.1:0;
                ssl_certificate {cert};
                ssl_certificate_key {key};
                proxy_half_close {{halfClose}};
                proxy_pass backend;
            }
        }
        """);

    [Theory]
    [InlineData("on")]
    [InlineData("off")]
    public async Task Client_closing_closes_the_backend_connection(string halfClose)
    {
        var backendSawEnd = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var read = await RawBackend.ReadToEndAsync(new NetworkStream(socket));
            backendSawEnd.TrySetResult(read.Length);
        });
        var node = await StartNode(backend.Port, halfClose);

        var (socket, tls) = await RawBackend.ConnectTlsAsync(node.Port());
        await tls.WriteAsync("hello"u8.ToArray());
        await tls.ShutdownAsync();
        socket.Shutdown(SocketShutdown.Send);

        Assert.Equal(5, await backendSawEnd.Task.WaitAsync(NodeHarness.Patience));
        socket.Dispose();
        await node.AssertDrainedAsync();
    }

    [Fact]
    public async Task A_client_that_resets_its_connection_ends_the_backend_connection()
    {
        var backendSawEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var backendConnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            backendConnected.TrySetResult();
            try
            {
                await RawBackend.ReadToEndAsync(new NetworkStream(socket));
            }
            catch (IOException)
            {
                // A reset passed on is as good as an orderly close here.
            }

            backendSawEnd.TrySetResult();
        });
        var node = await StartNode(backend.Port);

        var (socket, tls) = await RawBackend.ConnectTlsAsync(node.Port());
        await tls.WriteAsync("hello"u8.ToArray());
        await backendConnected.Task.WaitAsync(NodeHarness.Patience);
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();

        await backendSawEnd.Task.WaitAsync(NodeHarness.Patience);
        await node.AssertDrainedAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Clients_that_close_right_after_the_handshake_leave_nothing_running(bool reset)
    {
        // As `openssl s_time -new` does: handshake, then close without a byte of request, the server's session tickets
        // unread (so the close is a reset, which the proxy meets writing to the client).
        using var backend = new RawBackend(async socket => await RawBackend.ReadToEndAsync(new NetworkStream(socket)));
        var node = await StartNode(backend.Port);

        for (var i = 0; i < 50; i++)
        {
            var (socket, tls) = await RawBackend.ConnectTlsAsync(node.Port());
            if (reset)
                socket.LingerState = new LingerOption(true, 0);
            else
                await tls.ShutdownAsync();
            socket.Dispose();
        }

        await node.AssertDrainedAsync();
    }

    [Theory]
    [InlineData("on")]
    [InlineData("off")]
    public async Task Backend_closing_closes_the_client(string halfClose)
    {
        using var backend = new RawBackend(async socket =>
        {
            await socket.SendAsync("bye"u8.ToArray());
            socket.Shutdown(SocketShutdown.Both);
        });
        var node = await StartNode(backend.Port, halfClose);

        var (socket, tls) = await RawBackend.ConnectTlsAsync(node.Port());
        var received = await RawBackend.ReadToEndAsync(tls).WaitAsync(NodeHarness.Patience);

        Assert.Equal("bye", Encoding.ASCII.GetString(received));
        if (halfClose == "on")
        {
            // Only the backend's direction has ended; the connection is gone once the client closes its side too.
            Assert.Equal(1, node.Node.Limit.Open);
            // close_notify told the client so; the TCP connection is closed, with FIN, only once both sides are done.
            Assert.False(socket.Poll(0, SelectMode.SelectRead), "FIN came before the client's side ended");
            socket.Shutdown(SocketShutdown.Send);
        }

        Assert.Equal(0, await socket.ReceiveAsync(new byte[16]).WaitAsync(NodeHarness.Patience));
        await node.AssertDrainedAsync();
        socket.Dispose();
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
            var stream = new NetworkStream(socket);
            await socket.SendAsync(request);
            socket.Shutdown(SocketShutdown.Send);
            answer = await RawBackend.ReadToEndAsync(stream).WaitAsync(NodeHarness.Patience);
        }

        Assert.Equal($"got {request.Length} bytes", Encoding.ASCII.GetString(answer));
        await node.AssertDrainedAsync();
    }
}
