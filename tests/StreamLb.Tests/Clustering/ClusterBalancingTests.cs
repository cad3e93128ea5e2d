using System.Net.WebSockets;
using Akka.Actor;
using Akka.Cluster;
using StreamLb.Balancing;
using StreamLb.EchoBackend;
using StreamLb.Tests.Integration;
using Xunit;

namespace StreamLb.Tests.Clustering;

/// <summary>
/// Three nodes in one cluster, two echo backends: connections through any node are counted once, cluster-wide, and
/// least_conn picks by those counts, also when opens and closes happen on different nodes.
/// </summary>
public sealed class ClusterBalancingTests : ThreeNodeClusterSpec
{
    [Fact]
    public async Task Connections_through_different_nodes_are_counted_once_and_match_the_backends()
    {
        var clients = new List<ClientWebSocket>();
        foreach (var node in Cluster.Nodes)
        {
            for (var i = 0; i < 2; i++)
                clients.Add(await OpenAndEcho(node));
        }

        // Every node's view of the balancer is the same, and it is what the backends see. (A connection placed by a
        // pick made ahead is counted when the balancer hears so, a message after it started: hence awaited.)
        foreach (var node in Cluster.Nodes)
        {
            await AwaitAssert(async () =>
            {
                var snapshot = await node.Snapshot();
                Assert.Equal(6, snapshot.TotalActive);
                Assert.Equal([3, 3], snapshot.Servers.Select(s => s.Active));
            });
        }

        await AwaitAssert(() => Assert.Equal([3, 3], Backends.Select(b => b.ActiveConnections)));

        await Task.WhenAll(clients.Select(c => c.CloseAsync()));
        await AwaitAssert(async () =>
        {
            foreach (var node in Cluster.Nodes)
                Assert.Equal(0, (await node.Snapshot()).TotalActive);
        });
    }

    [Fact]
    public async Task Least_conn_uses_theCluster_wide_counts_when_opens_and_closes_happen_on_different_nodes()
    {
        var (a, b) = (Cluster.Nodes[0], Cluster.Nodes[1]);

        // Six through node A: three on each backend.
        var throughA = new List<(ClientWebSocket Client, int Backend)>();
        for (var i = 0; i < 6; i++)
            throughA.Add(await OpenAndSee(a));
        Assert.Equal(3, throughA.Count(c => c.Backend == 0));

        // A's clients on backend 0 leave: the cluster now has 0 there and 3 on backend 1.
        foreach (var (client, _) in throughA.Where(c => c.Backend == 0))
            await client.CloseAsync();
        await AwaitAssert(async () => Assert.Equal([0, 3], (await b.Snapshot()).Servers.Select(s => s.Active)));

        // Node B has seen none of this itself. Counting only its own connections it would alternate (2 and 1);
        // with the cluster's counts all three go to backend 0.
        var throughB = new List<(ClientWebSocket Client, int Backend)>();
        for (var i = 0; i < 3; i++)
            throughB.Add(await OpenAndSee(b));

        Assert.All(throughB, c => Assert.Equal(0, c.Backend));
        await AwaitAssert(async () => Assert.Equal([3, 3], (await Cluster.Nodes[2].Snapshot()).Servers.Select(s => s.Active)));
        Assert.Equal([3, 3], Backends.Select(x => x.ActiveConnections));
    }

    [Fact]
    public async Task A_node_away_from_the_balancer_takes_picks_made_ahead_which_follow_the_cluster_wide_counts()
    {
        var home = await Cluster.BalancerHome();
        var away = Cluster.Nodes.First(n => n != home);
        // One connection through the balancer's node first: the node away has its counts to follow, not its own.
        var first = await OpenAndSee(home);
        away.Node.PickLatency.Reset();

        var throughAway = new List<(ClientWebSocket Client, int Backend)>();
        for (var i = 0; i < 5; i++)
            throughAway.Add(await OpenAndSee(away));

        // least_conn over the cluster's counts: 3 and 3, whichever way each pick came.
        Assert.Equal(3, throughAway.Count(c => c.Backend == first.Backend) + 1);
        var picks = away.Node.PickLatency.Snapshot();
        Assert.Equal(5, picks.All.Count);
        // The first asks; each later one finds the pick the balancer made ahead (sent within a message's time of the
        // last answer, long before the next client has connected), unless the machine stalled just then.
        Assert.InRange(picks.MadeAhead, 1, 4);
        Assert.Equal(5 - picks.MadeAhead, picks.Asked.Count);
        foreach (var node in Cluster.Nodes)
            await AwaitAssert(async () => Assert.Equal([3, 3], (await node.Snapshot()).Servers.Select(s => s.Active)));
        Assert.Equal([3, 3], Backends.Select(b => b.ActiveConnections));
    }

    [Fact]
    public async Task Draining_the_server_of_a_pick_made_ahead_replaces_it_before_the_drain_is_answered()
    {
        var home = await Cluster.BalancerHome();
        var away = Cluster.Nodes.First(n => n != home);
        // One connection through the node away: its next pick is made ahead on the other backend (0 against 1).
        var (_, used) = await OpenAndSee(away);
        var held = 1 - used;
        var address = (await away.Snapshot()).Servers.Single(s => s.Address.EndsWith($":{Backends[held].EndPoint.Port}", StringComparison.Ordinal)).Address;

        var answer = await home.Node.Balancers.Ask<object>(new UpdateServer("backend", address, Mode: ServerMode.Drain), ClusterHarness.Patience);

        Assert.Equal(ServerState.Draining, Assert.IsType<ServerChanged>(answer).Server.State);
        var (_, next) = await OpenAndSee(away);
        Assert.Equal(used, next);
    }

    [Fact]
    public async Task A_node_removed_from_theCluster_has_its_connections_dropped_from_the_counts()
    {
        var (a, c) = (Cluster.Nodes[0], Cluster.Nodes[2]);
        var home = await Cluster.BalancerHome();
        if (home == c)
            (a, c) = (Cluster.Nodes[2], Cluster.Nodes[0]); // keep the balancer on a surviving node
        var clients = new List<ClientWebSocket>();
        for (var i = 0; i < 2; i++)
            clients.Add(await OpenAndEcho(a));
        for (var i = 0; i < 3; i++)
            clients.Add(await OpenAndEcho(c));
        await AwaitAssert(async () => Assert.Equal(5, (await a.Snapshot()).TotalActive));

        // C is downed as if it had crashed: with its ledger gone it can release nothing, so only the balancer's
        // handling of the member's removal can bring the count down.
        await c.Node.Ledger.GracefulStop(ClusterHarness.Patience);
        Akka.Cluster.Cluster.Get(a.System).Down(c.Address);

        await AwaitAssert(async () => Assert.Equal(2, (await a.Snapshot()).TotalActive));
        foreach (var client in clients.Take(2))
            await client.EchoAsync([4], WebSocketMessageType.Binary); // A's clients were never touched
    }

    private static async Task<ClientWebSocket> OpenAndEcho(ClusterNode node)
    {
        var client = await WebSocketClient.ConnectAsync(node.Port);
        var (echoed, _) = await client.EchoAsync([1, 2, 3], WebSocketMessageType.Binary);
        Assert.Equal([1, 2, 3], echoed);
        return client;
    }

    /// <summary>Opens a connection through <paramref name="node"/> and tells which backend took it.</summary>
    private async Task<(ClientWebSocket Client, int Backend)> OpenAndSee(ClusterNode node)
    {
        var before = Backends.Select(b => b.TotalConnections).ToArray();
        var client = await OpenAndEcho(node);
        var backend = Enumerable.Range(0, Backends.Length).Single(i => Backends[i].TotalConnections > before[i]);
        return (client, backend);
    }

    internal static async Task AwaitAssert(Func<Task> assertion, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? ClusterHarness.Patience);
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    internal static Task AwaitAssert(Action assertion) => AwaitAssert(() =>
    {
        assertion();
        return Task.CompletedTask;
    });
}
