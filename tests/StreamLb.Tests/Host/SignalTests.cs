using System.Net.Sockets;
using StreamLb.Host;
using StreamLb.Tests.Configuration;
using StreamLb.Tests.Integration;
using Xunit;

namespace StreamLb.Tests.Host;

/// <summary>
/// A node told to stop (SIGTERM) as a service manager, <c>docker stop</c> or a rolling restart does: it refuses new
/// connections at once, lets those it has go on for <c>--shutdown-timeout</c>, closes those left, and exits. And one sent
/// SIGHUP, which nginx takes for a reload: it goes on.
/// </summary>
public sealed class SignalTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_stopping_node_refuses_new_connections_at_once_relays_on_the_open_ones_and_exits_once_they_end()
    {
        using var backend = new RawBackend(PlainNode.Echo);
        using var folder = new TempFolder();
        // Far longer than the test: the node exits because its last connection ended, not because the time ran out.
        await using var node = StartNode(folder, backend.Port, "10m");
        var port = await ListeningPort(node);

        using var open = await PlainNode.Connect(port);
        Assert.Equal("before", await PlainNode.RoundTrip(open, "before"));

        node.Terminate();
        await node.WaitForLine("stopped accepting on", Patience);

        var refused = await Assert.ThrowsAsync<SocketException>(() => PlainNode.Connect(port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        await node.WaitForLine("waiting up to 00:10:00 for 1 connection(s) to end", Patience);
        Assert.Equal("while stopping", await PlainNode.RoundTrip(open, "while stopping"));
        Assert.False(node.HasExited);

        open.Shutdown(SocketShutdown.Send); // the echo backend then ends its side, and the relay ends
        Assert.Equal(0, await open.ReceiveAsync(new byte[16], SocketFlags.None).WaitAsync(Patience));

        Assert.Equal(0, await node.WaitForExit(Patience));
        Assert.Contains("every connection ended", node.Output);
        Assert.DoesNotContain("still open", node.Output);
    }

    [Fact]
    public async Task A_stopping_node_closes_the_connections_still_open_after_the_shutdown_timeout_and_exits()
    {
        using var backend = new RawBackend(PlainNode.Echo);
        using var folder = new TempFolder();
        await using var node = StartNode(folder, backend.Port, "1s");
        var port = await ListeningPort(node);
        using var open = await PlainNode.Connect(port);
        Assert.Equal("before", await PlainNode.RoundTrip(open, "before"));

        node.Terminate();

        await node.WaitForLine("closing the 1 connection(s) still open", Patience);
        // Closed by the node: the client reads the end of the stream (or a reset), not the echo of anything.
        var buffer = new byte[16];
        try
        {
            Assert.Equal(0, await open.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Patience));
        }
        catch (SocketException e)
        {
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }

        Assert.Equal(0, await node.WaitForExit(Patience));
    }

    [Fact]
    public async Task A_node_sent_SIGHUP_says_it_does_not_reload_and_goes_on_relaying()
    {
        using var backend = new RawBackend(PlainNode.Echo);
        using var folder = new TempFolder();
        await using var node = StartNode(folder, backend.Port, "5s");
        var port = await ListeningPort(node);
        using var open = await PlainNode.Connect(port);
        Assert.Equal("before", await PlainNode.RoundTrip(open, "before"));

        node.Signal("HUP");

        await node.WaitForLine("SIGHUP ignored", Patience);
        Assert.Equal("after", await PlainNode.RoundTrip(open, "after"));
        using var another = await PlainNode.Connect(port);
        Assert.Equal("new one", await PlainNode.RoundTrip(another, "new one"));
        Assert.False(node.HasExited);
    }

    [Fact]
    public void The_shutdown_timeout_option_takes_a_time_and_defaults_to_5_seconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), CommandLine.Parse(["run"], out _)!.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), CommandLine.Parse(["run", "--shutdown-timeout", "30s"], out _)!.ShutdownTimeout);
        Assert.Equal(TimeSpan.Zero, CommandLine.Parse(["run", "--shutdown-timeout", "0s"], out _)!.ShutdownTimeout);
        Assert.Null(CommandLine.Parse(["run", "--shutdown-timeout", "soon"], out var error));
        Assert.Equal("invalid option \"--shutdown-timeout soon\"", error);
    }

    private static NodeProcess StartNode(TempFolder folder, int backendPort, string shutdownTimeout) =>
        NodeProcess.Start(folder.Root, "run", "-c", PlainNode.Config(folder, backendPort), "--admin", "off", "--cluster-port", "0",
            "--shutdown-timeout", shutdownTimeout);

    private static Task<int> ListeningPort(NodeProcess node) => PlainNode.ListeningPort(node, Startup);
}
