using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using Akka.Streams.Implementation;
using Akka.TestKit;
using StreamLb.Balancing;
using StreamLb.Configuration;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using Xunit;

namespace StreamLb.Tests.Integration;

/// <summary>
/// A node started in the test's actor system from a config text, with its listeners' real ports and a probe that
/// sees every warning the node logs. <c>{cert}</c> and <c>{key}</c> in the text stand for the test certificate.
/// </summary>
internal sealed class NodeHarness
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly TestKitBase _kit;

    private NodeHarness(TestKitBase kit, StreamLbNode node, IReadOnlyList<EndPoint> bound, TestProbe logs)
    {
        _kit = kit;
        Node = node;
        Bound = bound;
        Logs = logs;
    }

    public StreamLbNode Node { get; }

    public IReadOnlyList<EndPoint> Bound { get; }

    /// <summary>Receives every info and warning line the system logs from the moment the node started.</summary>
    public TestProbe Logs { get; }

    public int Port(int listener = 0) => ((IPEndPoint)Bound[listener]).Port;

    public static async Task<NodeHarness> StartAsync(TestKitBase kit, string configText, NodeOptions? options = null)
    {
        var text = configText.Replace("{cert}", TestCertificate.CertificatePath).Replace("{key}", TestCertificate.KeyPath);
        var result = ConfigLoader.Parse(text, Path.Combine(Path.GetTempPath(), "test.conf"));
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var logs = kit.CreateTestProbe();
        kit.Sys.EventStream.Subscribe(logs.Ref, typeof(Warning));
        kit.Sys.EventStream.Subscribe(logs.Ref, typeof(Info));
        var node = StreamLbNode.Start(kit.Sys, result.Config!, options);
        var bound = await node.WhenBound(Patience);
        return new NodeHarness(kit, node, bound, logs);
    }

    /// <summary>Waits for a log line of <typeparamref name="TLevel"/> containing <paramref name="text"/> and returns it.</summary>
    public string ExpectLog<TLevel>(string text) where TLevel : LogEvent =>
        Logs.FishForMessage<LogEvent>(e => e is TLevel && e.Message.ToString()!.Contains(text, StringComparison.Ordinal), Patience).Message.ToString()!;

    public string ExpectWarning(string text) => ExpectLog<Warning>(text);

    public Task<UpstreamSnapshot> Snapshot(string upstream = "backend") => Node.Snapshot(upstream, Patience);

    /// <summary>
    /// Waits until the node has no live connection and its balancer counts none. A connection's graph runs inside its
    /// connection actor, which stops only once every stage has: no live connection, no graph still running.
    /// </summary>
    public Task AssertDrainedAsync(string upstream = "backend") =>
        _kit.AwaitAssertAsync(async () =>
        {
            var live = Node.Limit.Open;
            var snapshot = await Snapshot(upstream);
            Assert.True(live == 0 && snapshot.TotalActive == 0,
                $"not drained: {live} live connections, balancer counts " +
                string.Join(", ", snapshot.Servers.Select(s => $"{s.Address}={s.Active}")));
        }, Patience, TimeSpan.FromMilliseconds(50));

    public static async Task<EchoServer[]> StartEchoBackends(int count)
    {
        var servers = new EchoServer[count];
        for (var i = 0; i < count; i++)
            servers[i] = await EchoServer.StartAsync("127.0.0.1", 0, $"echo-{i + 1}");
        return servers;
    }

    /// <summary>A loopback port nothing listens on: connecting to it is refused at once.</summary>
    public static int RefusingPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
