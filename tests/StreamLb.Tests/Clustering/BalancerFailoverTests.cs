using System.Diagnostics;
using System.Net.WebSockets;
using Akka.Actor;
using StreamLb.Balancing;
using StreamLb.EchoBackend;
using StreamLb.Tests.Integration;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Clustering;

/// <summary>
/// The balancer entity moves — its node leaves, or dies — and its counts come back exact from the ledgers of the
/// surviving nodes, while connections opened during the move are still served.
/// </summary>
public sealed class BalancerFailoverTests(ITestOutputHelper output) : ThreeNodeClusterSpec
{
    [Fact]
    public async Task A_balancer_handed_off_by_a_leaving_node_rebuilds_the_exact_counts_and_keeps_answering()
    {
        var home = await Cluster.BalancerHome();
        var survivors = Cluster.Nodes.Where(n => n != home).ToList();
        var clients = await OpenThrough(survivors, perNode: 2);
        await ChangeMembership(survivors[0]);

        var leaving = CoordinatedShutdown.Get(home.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        clients.Add(await TimedOpen(survivors[0], "during the hand-off"));
        await leaving.WaitAsync(ClusterHarness.Patience);
        clients.Add(await TimedOpen(survivors[1], "after the hand-off"));

        await AssertCountsMatchBackends(survivors, expectedTotal: 6);
        Assert.NotEqual(home, await Cluster.BalancerHome());
        await AssertMembershipChanged(survivors[1]);
        GC.KeepAlive(clients);
    }

    [Fact]
    public async Task A_balancer_whose_node_dies_is_rebuilt_elsewhere_from_the_ledgers_and_picks_go_on_meanwhile()
    {
        var home = await Cluster.BalancerHome();
        var survivors = Cluster.Nodes.Where(n => n != home).ToList();
        var clients = await OpenThrough(survivors, perNode: 2);
        await ChangeMembership(survivors[1]);

        // No leaving, no hand-off: the node is gone until the split-brain resolver downs it.
        await home.System.Terminate().WaitAsync(ClusterHarness.Patience);
        for (var i = 0; i < 2; i++)
            clients.Add(await TimedOpen(survivors[i], "while the balancer's node is unreachable"));

        await AssertCountsMatchBackends(survivors, expectedTotal: 6);
        await AssertMembershipChanged(survivors[0]);
        GC.KeepAlive(clients);
    }

    /// <summary>Runtime changes the moved balancer must get back from the replicated membership: an added server, a new weight.</summary>
    private async Task ChangeMembership(ClusterNode through)
    {
        var added = await through.Node.Balancers.Ask<object>(new AddServer("backend", "127.0.0.1:9", Mode: ServerMode.Down), ClusterHarness.Patience);
        Assert.True(added is ServerChanged, added.ToString());
        var weighted = await through.Node.Balancers.Ask<object>(new UpdateServer("backend", Backends[1].EndPoint.ToString(), Weight: 3), ClusterHarness.Patience);
        Assert.True(weighted is ServerChanged, weighted.ToString());
    }

    private async Task AssertMembershipChanged(ClusterNode node)
    {
        var snapshot = await node.Snapshot();
        Assert.Equal(ServerState.Down, snapshot.Servers.Single(s => s.Address == "127.0.0.1:9").State);
        Assert.Equal(3, snapshot.Servers.Single(s => s.Address == Backends[1].EndPoint.ToString()).Weight);
    }

    private static async Task<List<ClientWebSocket>> OpenThrough(IEnumerable<ClusterNode> nodes, int perNode)
    {
        var clients = new List<ClientWebSocket>();
        foreach (var node in nodes)
        {
            for (var i = 0; i < perNode; i++)
            {
                var client = await WebSocketClient.ConnectAsync(node.Port);
                await client.EchoAsync([7], WebSocketMessageType.Binary);
                clients.Add(client);
            }
        }

        return clients;
    }

    /// <summary>Opens and echoes through <paramref name="node"/>; the time it took is reported, not asserted.</summary>
    private async Task<ClientWebSocket> TimedOpen(ClusterNode node, string when)
    {
        var clock = Stopwatch.StartNew();
        var client = await WebSocketClient.ConnectAsync(node.Port).WaitAsync(ClusterHarness.Patience);
        var (echoed, _) = await client.EchoAsync([9, 9], WebSocketMessageType.Binary);
        Assert.Equal([9, 9], echoed);
        output.WriteLine($"connection {when}: open and first echo in {clock.ElapsedMilliseconds} ms");
        return client;
    }

    /// <summary>Every surviving node's view equals what the backends count, once the balancer has settled.</summary>
    private Task AssertCountsMatchBackends(IReadOnlyList<ClusterNode> nodes, int expectedTotal) =>
        ClusterBalancingTests.AwaitAssert(async () =>
        {
            var atBackends = Backends.Select(b => b.ActiveConnections).ToArray();
            Assert.Equal(expectedTotal, atBackends.Sum());
            foreach (var node in nodes)
            {
                // Short asks: one sent towards the dead home is lost, the next goes to the new one.
                var snapshot = await node.Snapshot(timeout: TimeSpan.FromSeconds(2));
                Assert.Equal(atBackends, snapshot.Servers.Take(2).Select(s => s.Active));
                Assert.Equal(expectedTotal, snapshot.TotalActive);
            }
        }, within: TimeSpan.FromSeconds(90));
}
