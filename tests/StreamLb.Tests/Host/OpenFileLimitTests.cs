using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using StreamLb.Host;
using StreamLb.Tests.Configuration;
using StreamLb.Tests.Integration;
using Xunit;

namespace StreamLb.Tests.Host;

/// <summary>
/// A node with a low open-file limit (or a <c>--max-connections</c>) and more clients than it allows: it holds as many connections as the limit
/// leaves room for, lets the next wait in the backlog, takes them as others end, and goes on running (out of file
/// descriptors, the runtime would end the process with every connection in it).
/// </summary>
public sealed partial class OpenFileLimitTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_node_at_its_open_file_limit_keeps_its_connections_and_takes_the_next_as_one_ends()
    {
        using var backend = new RawBackend(PlainNode.Echo);
        using var folder = new TempFolder();
        await using var node = NodeProcess.StartWithOpenFileLimit(640, folder.Root, "run", "-c", PlainNode.Config(folder, backend.Port),
            "--admin", "off", "--cluster-port", "0");
        var max = int.Parse(UpTo().Match(await node.WaitForLine("connections at once (open-file limit 640)", Startup)).Groups[1].Value);
        Assert.InRange(max, 10, 320); // what is left of 640 after the runtime's own files, the spare, two per connection

        await TakesAtMostThenTheNext(node, max);
    }

    [Fact]
    public async Task A_node_with_max_connections_takes_that_many_and_the_next_as_one_ends()
    {
        using var backend = new RawBackend(PlainNode.Echo);
        using var folder = new TempFolder();
        await using var node = NodeProcess.Start(folder.Root, "run", "-c", PlainNode.Config(folder, backend.Port),
            "--admin", "off", "--cluster-port", "0", "--max-connections", "3");
        await node.WaitForLine("up to 3 connections at once", Startup);

        await TakesAtMostThenTheNext(node, 3);
    }

    [Fact]
    public void The_max_connections_option_takes_a_positive_count()
    {
        Assert.Null(CommandLine.Parse(["run"], out _)!.MaxConnections);
        Assert.Equal(10000, CommandLine.Parse(["run", "--max-connections", "10000"], out _)!.MaxConnections);
        Assert.Null(CommandLine.Parse(["run", "--max-connections", "0"], out var error));
        Assert.Equal("invalid option \"--max-connections 0\"", error);
    }

    /// <summary>
    /// <paramref name="max"/> connections relay; one more waits in the backlog, unserved while the node warns it is
    /// full, and is served once one of the others ends; the node runs on.
    /// </summary>
    private static async Task TakesAtMostThenTheNext(NodeProcess node, int max)
    {
        var port = await PlainNode.ListeningPort(node, Startup);
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < max; i++)
            {
                held.Add(await PlainNode.Connect(port));
                Assert.Equal($"#{i}", await PlainNode.RoundTrip(held[^1], $"#{i}"));
            }

            // One more than the limit: the system completes its connect, the node leaves it in the backlog.
            var next = await PlainNode.Connect(port);
            held.Add(next);
            await next.SendAsync(Encoding.ASCII.GetBytes("next"), SocketFlags.None);
            await node.WaitForLine($"{max} connections open, the most this node takes ({max}; ", Patience);
            Assert.Equal("still", await PlainNode.RoundTrip(held[0], "still"));
            Assert.False(next.Poll(0, SelectMode.SelectRead), "the connection over the limit was served");

            held[1].Dispose(); // one ends: room for the one waiting
            Assert.Equal("next", await PlainNode.Read(next, 4));
            Assert.False(node.HasExited);
        }
        finally
        {
            foreach (var socket in held)
                socket.Dispose();
        }
    }

    [GeneratedRegex(@"up to (\d+) connections at once")]
    private static partial Regex UpTo();
}
