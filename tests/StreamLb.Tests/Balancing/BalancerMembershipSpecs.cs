using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

/// <summary>Runtime membership, drain timeout and active health checks, on one balancer.</summary>
public sealed class BalancerMembershipSpecs : TestKit
{
    private readonly ManualTimeProvider _time = new();

    private IActorRef Balancer(UpstreamConfig config, TimeSpan? drainTimeout = null, params string[] ledgerPaths) =>
        Sys.ActorOf(BalancerActor.Props(config, new BalancerSettings
        {
            Ledgers = new FixedLedgerDirectory(ledgerPaths),
            Time = _time,
            RandomFactory = () => new Random(3),
            DrainTimeout = drainTimeout,
        }));

    private static UpstreamConfig Upstream(params string[] addresses) => new()
    {
        Name = "backend",
        Policy = LoadBalancingPolicies.LeastConn,
        Servers = addresses.Select(a => new UpstreamServerConfig { Address = a }).ToList(),
    };

    private UpstreamSnapshot Snapshot(IActorRef balancer)
    {
        balancer.Tell(new GetUpstreamSnapshot("backend"));
        return ExpectMsg<UpstreamSnapshot>();
    }

    private string Pick(IActorRef balancer, string connectionId, string node = "node-a")
    {
        balancer.Tell(new Acquire("backend", connectionId, node, null, []));
        return ExpectMsg<Assigned>().Server;
    }

    [Fact]
    public void Added_servers_get_the_next_id_and_take_connections_and_removed_ones_keep_theirs_as_zombies()
    {
        var balancer = Balancer(Upstream("a:1"));
        Pick(balancer, "c1");

        balancer.Tell(new AddServer("backend", "b:1", Weight: 2));
        var added = ExpectMsg<ServerChanged>().Server;
        Assert.Equal((1, "b:1", 2, ServerState.Up), (added.Id, added.Address, added.Weight, added.State));
        Assert.Equal("b:1", Pick(balancer, "c2"));

        balancer.Tell(new RemoveServer("backend", "0"));
        ExpectMsg(new ServerRemoved("a:1"));
        var snapshot = Snapshot(balancer);
        Assert.Equal(["b:1"], snapshot.Servers.Select(s => s.Address));
        Assert.Equal((1, 2), (snapshot.Zombies, snapshot.TotalActive));

        balancer.Tell(new Release("backend", "c1"));
        Assert.Equal(0, Snapshot(balancer).Zombies);
    }

    [Fact]
    public void Bad_changes_are_rejected_with_the_reason()
    {
        var balancer = Balancer(Upstream("a:1"));

        balancer.Tell(new AddServer("backend", "a:1"));
        ExpectMsg(new ServerChangeRejected(ServerChangeError.Conflict, "server a:1 already exists in upstream \"backend\""));
        balancer.Tell(new AddServer("backend", "no-port"));
        ExpectMsg(new ServerChangeRejected(ServerChangeError.Invalid, "invalid server address \"no-port\": expected host:port"));
        balancer.Tell(new UpdateServer("backend", "7", Mode: ServerMode.Drain));
        ExpectMsg(new ServerChangeRejected(ServerChangeError.NotFound, "no server \"7\" in upstream \"backend\""));
    }

    [Fact]
    public void A_drained_server_takes_no_new_connections_and_after_the_drain_timeout_its_nodes_are_told_to_close_them()
    {
        var ledgerOfNodeA = CreateTestProbe();
        var balancer = Balancer(Upstream("a:1", "b:1"), TimeSpan.FromMilliseconds(300), ledgerOfNodeA.Ref.Path.ToString());
        var first = Pick(balancer, "c1", node: ledgerOfNodeA.Ref.Path.ToString());

        balancer.Tell(new UpdateServer("backend", first, Mode: ServerMode.Drain));
        Assert.Equal(ServerState.Draining, ExpectMsg<ServerChanged>().Server.State);
        Assert.NotEqual(first, Pick(balancer, "c2"));
        Assert.NotEqual(first, Pick(balancer, "c3"));

        var close = ledgerOfNodeA.FishForMessage<CloseConnections>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal(["c1"], close.ConnectionIds);
        Assert.Contains($"server {first} of upstream \"backend\" drained", close.Reason);
    }

    [Fact]
    public void Active_health_checks_take_a_server_that_stops_accepting_out_of_rotation_and_back_when_it_returns()
    {
        using var healthy = Listener(out var healthyPort);
        var refusing = Listener(out var refusingPort);
        var upstream = Upstream($"127.0.0.1:{healthyPort}", $"127.0.0.1:{refusingPort}") with
        {
            HealthCheck = new HealthCheckConfig { Interval = TimeSpan.FromMilliseconds(100), Fails = 1, Passes = 1, Timeout = TimeSpan.FromSeconds(1) },
        };
        var balancer = Balancer(upstream);
        AwaitAssert(() => Assert.All(Snapshot(balancer).Servers, s => Assert.True(s.Health?.Checks > 0)), TimeSpan.FromSeconds(10));

        refusing.Dispose();

        AwaitAssert(() => Assert.Equal(ServerState.Unhealthy, Snapshot(balancer).Servers[1].State), TimeSpan.FromSeconds(10));
        // Refused, or reset when a probe was caught in the closing backlog: either way the reason is kept.
        Assert.False(string.IsNullOrEmpty(Snapshot(balancer).Servers[1].Health!.LastError));
        for (var i = 0; i < 3; i++)
            Assert.Equal($"127.0.0.1:{healthyPort}", Pick(balancer, $"c{i}"));

        using var back = Listener(out _, refusingPort);
        AwaitAssert(() => Assert.Equal(ServerState.Up, Snapshot(balancer).Servers[1].State), TimeSpan.FromSeconds(10));
    }

    private static Socket Listener(out int port, int at = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, at));
        socket.Listen(16);
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }
}
