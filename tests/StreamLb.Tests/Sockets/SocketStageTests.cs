using System.Net;
using System.Net.Sockets;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit.Xunit2;
using StreamLb.Sockets;
using StreamLb.Tests.Integration;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Sockets;

/// <summary>The socket stage against real loopback sockets: bytes, order, half-close, reset, connect failures.</summary>
public sealed class SocketStageTests(ITestOutputHelper output) : TestKit(output: output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private (TestPublisher.Probe<ByteString> Send, TestSubscriber.Probe<ByteString> Received, Task<EndPoint> Connected) Connect(int port)
    {
        var (send, connected, received) = Probed(SocketStage.Outgoing(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromSeconds(10)));
        return (send, received, connected);
    }

    /// <summary>The flow between a probe that sends and a probe that receives.</summary>
    private (TestPublisher.Probe<ByteString> Send, TMat Value, TestSubscriber.Probe<ByteString> Received) Probed<TMat>(Flow<ByteString, ByteString, TMat> flow)
    {
        var ((send, value), received) = this.SourceProbe<ByteString>()
            .ViaMaterialized(flow, Keep.Both)
            .ToMaterialized(this.SinkProbe<ByteString>(), Keep.Both)
            .Run(Sys.Materializer());
        return (send, value, received);
    }

    /// <summary>A peer that sends back everything it read once the stage sent FIN, then closes its side.</summary>
    private static async Task EchoToEnd(Socket socket)
    {
        var stream = new NetworkStream(socket);
        await stream.WriteAsync(await RawBackend.ReadToEndAsync(stream));
        socket.Shutdown(SocketShutdown.Send);
    }

    [Fact]
    public async Task Sends_and_receives_every_byte_in_order()
    {
        using var backend = new RawBackend(EchoToEnd);
        var (send, received, connected) = Connect(backend.Port);
        var local = (IPEndPoint)await connected.WaitAsync(Patience);
        Assert.Equal(IPAddress.Loopback, local.Address);

        // Chunks of many sizes, 1 B up to three reads' worth, each with its own pattern.
        var sizes = new[] { 1, 2, 100, 1500, 16 * 1024, SocketStage.ReadSize, 3 * SocketStage.ReadSize + 7, 5 };
        var expected = new List<byte>();
        foreach (var (size, i) in sizes.Select((s, i) => (s, i)))
        {
            var chunk = Enumerable.Range(0, size).Select(b => (byte)(b * 31 + i)).ToArray();
            expected.AddRange(chunk);
            send.SendNext(ByteString.FromBytes(chunk));
        }

        send.SendComplete();
        var echoed = new List<byte>();
        received.Request(long.MaxValue);
        while (true)
        {
            var next = received.ExpectNextOrComplete();
            if (next is not ByteString bytes)
                break;
            Assert.True(bytes.Count <= SocketStage.ReadSize);
            echoed.AddRange(bytes.ToArray());
        }

        Assert.Equal(expected, echoed);
    }

    [Fact]
    public async Task Completing_the_input_sends_FIN_while_the_peer_may_still_send()
    {
        var peerSawEnd = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var stream = new NetworkStream(socket);
            peerSawEnd.SetResult(await RawBackend.ReadToEndAsync(stream));
            await stream.WriteAsync("after your FIN"u8.ToArray());
            socket.Shutdown(SocketShutdown.Send);
        });
        var (send, received, connected) = Connect(backend.Port);
        await connected.WaitAsync(Patience);

        send.SendNext(ByteString.FromString("last words"));
        send.SendComplete();
        Assert.Equal("last words"u8.ToArray(), await peerSawEnd.Task.WaitAsync(Patience));

        received.Request(10);
        Assert.Equal("after your FIN", received.ExpectNext(Patience).ToString());
        received.ExpectComplete();
    }

    [Fact]
    public async Task A_stage_that_leaves_FIN_to_the_close_sends_it_once_both_directions_are_done()
    {
        var peer = new TaskCompletionSource<Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        var peerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            peer.SetResult(socket);
            await peerDone.Task;
        });
        var stage = new SocketStage { SendsFinWhenInputEnds = false };
        var (send, connector, received) = Probed(Flow.FromGraph(stage));
        connector.Connect(new IPEndPoint(IPAddress.Loopback, backend.Port), TimeSpan.FromSeconds(10));
        var socket = await peer.Task.WaitAsync(Patience);
        try
        {
            send.SendNext(ByteString.FromString("last words"));
            send.SendComplete();
            var buffer = new byte[64];
            await new NetworkStream(socket).ReadExactlyAsync(buffer.AsMemory(0, 10)).AsTask().WaitAsync(Patience);
            Assert.Equal("last words", System.Text.Encoding.ASCII.GetString(buffer, 0, 10));
            // The peer's bytes still come through after the input's end; once the stage has passed them on it has long
            // taken that end (it came before the bytes were even sent), and no FIN came with it.
            await socket.SendAsync("still here"u8.ToArray());
            received.Request(1);
            Assert.Equal("still here", received.ExpectNext(Patience).ToString());
            Assert.False(socket.Poll(0, SelectMode.SelectRead), "the input's end was passed on as FIN before the close");

            // The other direction ends too: the stage closes, and the close carries the FIN.
            received.Cancel();
            Assert.Equal(0, await socket.ReceiveAsync(buffer).WaitAsync(Patience));
        }
        finally
        {
            peerDone.SetResult(); // the backend's handler may close its socket now
        }
    }

    [Fact]
    public async Task The_peer_closing_completes_the_output_and_sending_goes_on()
    {
        var peerRead = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var stream = new NetworkStream(socket);
            socket.Shutdown(SocketShutdown.Send);
            peerRead.SetResult(await RawBackend.ReadToEndAsync(stream));
        });
        var (send, received, connected) = Connect(backend.Port);
        await connected.WaitAsync(Patience);

        received.Request(1);
        received.ExpectComplete();
        send.SendNext(ByteString.FromString("still sending"));
        send.SendComplete();
        Assert.Equal("still sending"u8.ToArray(), await peerRead.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_failing_input_resets_the_connection()
    {
        var peerError = new TaskCompletionSource<SocketError>(TaskCreationOptions.RunContinuationsAsynchronously);
        var peerGotBytes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var buffer = new byte[16];
            try
            {
                await socket.ReceiveAsync(buffer);
                peerGotBytes.SetResult();
                while (await socket.ReceiveAsync(buffer) > 0)
                {
                }

                peerError.SetResult(SocketError.Success);
            }
            catch (SocketException e)
            {
                peerError.SetResult(e.SocketErrorCode);
            }
        });
        var (send, received, connected) = Connect(backend.Port);
        await connected.WaitAsync(Patience);
        send.SendNext(ByteString.FromString("x"));
        await peerGotBytes.Task.WaitAsync(Patience);

        send.SendError(new IOException("the other side failed"));

        Assert.Equal(SocketError.ConnectionReset, await peerError.Task.WaitAsync(Patience));
        received.Request(1);
        Assert.IsType<IOException>(received.ExpectError());
    }

    [Fact]
    public async Task A_refused_connect_fails_the_materialized_task_and_the_stream()
    {
        var (_, received, connected) = Connect(ClosedPort());
        var error = await Assert.ThrowsAsync<SocketException>(() => connected.WaitAsync(Patience));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        received.Request(1);
        Assert.IsType<SocketException>(received.ExpectError());
    }

    [Fact]
    public async Task A_connector_that_failed_may_connect_elsewhere()
    {
        using var backend = new RawBackend(EchoToEnd);
        var (send, connector, received) = Probed(SocketStage.Create());
        received.Request(10);

        // Not connected: nothing arrives, and the stage carries on after the failed connect.
        var refused = await Assert.ThrowsAsync<SocketException>(() => connector.Connect(new IPEndPoint(IPAddress.Loopback, ClosedPort()), TimeSpan.FromSeconds(10)).Task.WaitAsync(Patience));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        received.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        await connector.Connect(new IPEndPoint(IPAddress.Loopback, backend.Port), TimeSpan.FromSeconds(10)).Task.WaitAsync(Patience);
        send.SendNext(ByteString.FromString("second try"));
        send.SendComplete();
        Assert.Equal("second try", received.ExpectNext(Patience).ToString());
        received.ExpectComplete();
    }

    [Fact]
    public async Task A_socket_that_cannot_be_made_fails_its_connect_with_why_and_the_stage_carries_on()
    {
        using var backend = new RawBackend(EchoToEnd);
        var (send, connector, received) = Probed(SocketStage.Create());
        received.Request(10);

        // The system makes no socket of this family, as it makes none when out of file descriptors: the connect fails
        // with the system's error, not as if the stage had stopped, and another server may still be tried.
        var error = await Assert.ThrowsAsync<SocketException>(() => connector.Connect(new NoSuchFamilyEndPoint(), TimeSpan.FromSeconds(10)).Task.WaitAsync(Patience));
        Assert.NotEqual(SocketError.Success, error.SocketErrorCode);

        await connector.Connect(new IPEndPoint(IPAddress.Loopback, backend.Port), TimeSpan.FromSeconds(10)).Task.WaitAsync(Patience);
        send.SendNext(ByteString.FromString("after a socket that could not be made"));
        send.SendComplete();
        Assert.Equal("after a socket that could not be made", received.ExpectNext(Patience).ToString());
        received.ExpectComplete();
    }

    private sealed class NoSuchFamilyEndPoint : EndPoint
    {
        public override AddressFamily AddressFamily => AddressFamily.AppleTalk;

        public override string ToString() => "appletalk";
    }

    [Fact]
    public async Task A_connect_asked_of_a_stopped_stage_fails_instead_of_waiting_forever()
    {
        var (send, connector, received) = Probed(SocketStage.Create());
        send.SendComplete();
        received.Cancel();
        await Assert.ThrowsAnyAsync<IOException>(() => connector.Connected.WaitAsync(Patience));

        await Assert.ThrowsAsync<SocketStageStoppedException>(() => connector.Connect(new IPEndPoint(IPAddress.Loopback, ClosedPort()), TimeSpan.Zero).Task.WaitAsync(Patience));
    }

    private static int ClosedPort()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)closed.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task A_stage_that_stops_while_its_receive_waits_for_data_still_closes_its_socket()
    {
        var peerSawEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var testDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            await RawBackend.ReadToEndAsync(new NetworkStream(socket));
            peerSawEnd.TrySetResult();
            await testDone.Task; // the peer keeps its side open
        });
        var (send, received, connected) = Connect(backend.Port);
        var local = (IPEndPoint)await connected.WaitAsync(Patience);
        received.Request(1); // nothing comes: the stage waits for data

        send.SendComplete();
        await peerSawEnd.Task.WaitAsync(Patience);
        Assert.True(HeldByThisProcess(local));
        received.Cancel(); // both directions done: the stage stops while its receive still waits

        // The kernel lists a socket closed by its process with no inode; no signal says when: ask until it is so.
        var deadline = DateTime.UtcNow + Patience;
        while (HeldByThisProcess(local) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        testDone.TrySetResult();
        Assert.False(HeldByThisProcess(local), $"the socket of {local} is still open");
    }

    /// <summary>Whether this process still has the TCP socket bound to <paramref name="local"/> open (<c>/proc/net/tcp</c>).</summary>
    private static bool HeldByThisProcess(IPEndPoint local)
    {
        var address = $"{BitConverter.ToUInt32(local.Address.GetAddressBytes()):X8}:{local.Port:X4}";
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(fields => fields[1] == address && fields[9] != "0");
    }

    [Fact]
    public async Task Nothing_is_read_without_demand()
    {
        // The peer writes until its send would block: it can only ever get as far as the kernel's buffers allow.
        var written = 0L;
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var backend = new RawBackend(async socket =>
        {
            var chunk = new byte[64 * 1024];
            while (true)
            {
                var send = socket.SendAsync(chunk);
                if (await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(1))) != send)
                {
                    stalled.TrySetResult();
                    return;
                }

                Interlocked.Add(ref written, await send);
                if (Interlocked.Read(ref written) > 512L * 1024 * 1024)
                    return;
            }
        });
        var (send, received, connected) = Connect(backend.Port);
        await connected.WaitAsync(Patience);
        received.Request(1);
        received.ExpectNext(Patience);

        await stalled.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(Interlocked.Read(ref written) < 64L * 1024 * 1024, $"the peer wrote {Interlocked.Read(ref written)} bytes into a stage with no demand");
        send.SendComplete();
        received.Cancel();
    }
}
