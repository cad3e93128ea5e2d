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
public sealed class SignalTests : IAsyncLifetime
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly RawBackend _backend = new(PlainNode.Echo);
    private readonly TempFolder _folder = new();
    private readonly List<Socket> _sockets = [];
    private NodeProcess? _node;

    [Fact]
    public async Task A_stopping_node_refuses_new_connections_at_once_relays_on_the_open_ones_and_exits_once_they_end()
    {
        // Far longer than the test: the node exits because its last connection ended, not because the time ran out.
        var (node, port, open) = await NodeWithOneConnection("10m");

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
        var (node, _, open) = await NodeWithOneConnection("1s");

        node.Terminate();

        await node.WaitForLine("closing the 1 connection(s) still open", Patience);
        // Closed by the node: the client reads the end of the stream (or a reset), not the echo of anything.
        try
        {
            Assert.Equal(0, await open.ReceiveAsync(new byte[16], SocketFlags.None).WaitAsync(Patience));
        }
        catch (SocketException e)
        {
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }

        Assert.Equal(0, await node.WaitForExit(Patience));
        // A connection closed this way ends with its actor: how its relay ended is not told to the stopped actor (a dead
        // letter, logged, per connection).
        Assert.DoesNotContain("Message [RelayResult]", node.Output);
    }

    [Fact]
    public async Task A_node_sent_SIGHUP_says_it_does_not_reload_and_goes_on_relaying()
    {
        var (node, port, open) = await NodeWithOneConnection("5s");

        node.Signal("HUP");

        await node.WaitForLine("SIGHUP ignored", Patience);
        Assert.Equal("after", await PlainNode.RoundTrip(open, "after"));
        Assert.Equal("new one", await PlainNode.RoundTrip(await Connect(port), "new one"));
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

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var socket in _sockets)
            socket.Dispose();
        if (_node is not null)
            await _node.DisposeAsync();
        _backend.Dispose();
        _folder.Dispose();
    }

    /// <summary>A node with <c>--shutdown-timeout</c> <paramref name="shutdownTimeout"/>, and a connection through it that has echoed.</summary>
    private async Task<(NodeProcess Node, int Port, Socket Open)> NodeWithOneConnection(string shutdownTimeout)
    {
        _node = NodeProcess.Start(_folder.Root, "run", "-c", PlainNode.Config(_folder, _backend.Port), "--admin", "off", "--cluster-port", "0",
            "--shutdown-timeout", shutdownTimeout);
        var port = await PlainNode.ListeningPort(_node, Startup);
        var open = await Connect(port);
        Assert.Equal("before", await PlainNode.RoundTrip(open, "before"));
        return (_node, port, open);
    }

    private async Task<Socket> Connect(int port)
    {
        var socket = await PlainNode.Connect(port);
        _sockets.Add(socket);
        return socket;
    }
}
