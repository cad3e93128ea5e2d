using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using StreamLb.Connections;
using Xunit;

namespace StreamLb.Tests.Balancing;

/// <summary>A balancer's counts live in memory only: a new incarnation must get them back from the ledgers.</summary>
public sealed class BalancerRebuildSpecs : TestKit
{
    private static readonly StreamConfig Config = new()
    {
        Upstreams =
        [
            new UpstreamConfig
            {
                Name = "backend",
                Policy = LoadBalancingPolicies.LeastConn,
                Servers = [new UpstreamServerConfig { Address = "a:1" }, new UpstreamServerConfig { Address = "b:1" }, new UpstreamServerConfig { Address = "c:1" }],
            },
        ],
        Servers = [],
    };

    private IActorRef Region(ILedgerDirectory ledgers) =>
        Sys.ActorOf(LocalBalancerRegion.Props(Config, upstream => BalancerActor.Props(upstream, ledgers, TimeProvider.System, new Random(1))), "balancers");

    // Acquires through the region and records the connection in the node's ledger, as a connection actor does.
    private string Connect(IActorRef region, IActorRef ledger, string connectionId)
    {
        region.Tell(new Acquire("backend", connectionId, "node", null, []));
        var server = ExpectMsg<Assigned>().Server;
        ledger.Tell(new ConnectionLedger.Track("backend", connectionId, server));
        return server;
    }

    private UpstreamSnapshot Snapshot(IActorRef region)
    {
        region.Tell(new GetUpstreamSnapshot("backend"));
        return ExpectMsg<UpstreamSnapshot>();
    }

    private static Dictionary<string, int> ActiveCounts(UpstreamSnapshot snapshot) => snapshot.Servers.ToDictionary(s => s.Address, s => s.Active);

    private Task AwaitActiveCounts(IActorRef region, Dictionary<string, int> expected) =>
        AwaitAssertAsync(async () =>
        {
            var snapshot = await region.Ask<UpstreamSnapshot>(new GetUpstreamSnapshot("backend"), RemainingOrDefault);
            Assert.Equal(expected, ActiveCounts(snapshot));
        });

    [Fact]
    public async Task A_restarted_balancer_gets_its_counts_back_from_every_node_ledger()
    {
        var region = Region(new FixedLedgerDirectory("/user/ledger-a", "/user/ledger-b"));
        IActorRef[] ledgers = [Sys.ActorOf(ConnectionLedger.Props("node-a", region), "ledger-a"), Sys.ActorOf(ConnectionLedger.Props("node-b", region), "ledger-b")];
        for (var i = 0; i < 5; i++)
            Connect(region, ledgers[i % 2], $"c{i}");
        var before = ActiveCounts(Snapshot(region));
        // Acquired but never tracked: only what the ledgers know can come back, which shows the state was rebuilt.
        region.Tell(new Acquire("backend", "untracked", "node-a", null, []));
        ExpectMsg<Assigned>();
        var balancer = LastSender;

        balancer.Tell(Kill.Instance);

        await AwaitActiveCounts(region, before);
        Assert.Equal(5, Snapshot(region).TotalActive);
    }

    [Fact]
    public async Task A_recreated_balancer_does_not_resurrect_released_connections()
    {
        var region = Region(new LocalLedgerDirectory());
        var ledger = Sys.ActorOf(ConnectionLedger.Props("node-a", region), ConnectionLedger.Name);
        var servers = Enumerable.Range(0, 3).Select(i => Connect(region, ledger, $"c{i}")).ToList();
        ledger.Tell(new ConnectionLedger.Untrack("backend", "c1"));
        Snapshot(region);
        var balancer = LastSender;
        Watch(balancer);

        Sys.Stop(balancer);
        ExpectTerminated(balancer);

        var expected = Config.Upstreams[0].Servers.ToDictionary(s => s.Address, s => s.Address == servers[1] ? 0 : 1);
        await AwaitActiveCounts(region, expected);
    }

    [Fact]
    public async Task A_release_racing_a_restart_stays_released()
    {
        var region = Region(new LocalLedgerDirectory());
        var ledger = Sys.ActorOf(ConnectionLedger.Props("node-a", region), ConnectionLedger.Name);
        Connect(region, ledger, "c1");
        Connect(region, ledger, "c2");
        Snapshot(region);
        var balancer = LastSender;

        balancer.Tell(Kill.Instance);
        ledger.Tell(new ConnectionLedger.Untrack("backend", "c1"));

        await AwaitAssertAsync(async () => Assert.Equal(1, (await region.Ask<UpstreamSnapshot>(new GetUpstreamSnapshot("backend"), RemainingOrDefault)).TotalActive));
        ledger.Tell(ConnectionLedger.GetLiveCount.Instance);
        ExpectMsg(1);
        Assert.Equal(1, Snapshot(region).TotalActive);
    }
}
