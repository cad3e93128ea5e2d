using System.Net;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using StreamLb.Balancing;
using StreamLb.Clustering;
using StreamLb.Configuration;
using StreamLb.Hosting;
using StreamLb.Tests.Integration;
using Xunit;

namespace StreamLb.Tests.Clustering;

/// <summary>
/// Several clustered nodes in this test process, each its own actor system on a loopback port, all running the same
/// stream config. The first forms the cluster; the others join it.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private ClusterHarness(IReadOnlyList<ClusterNode> nodes) => Nodes = nodes;

    public IReadOnlyList<ClusterNode> Nodes { get; }

    public static async Task<ClusterHarness> StartAsync(int count, string configText, NodeOptions? options = null)
    {
        var text = configText.Replace("{cert}", TestCertificate.CertificatePath).Replace("{key}", TestCertificate.KeyPath);
        var config = ConfigLoader.Parse(text, Path.Combine(Path.GetTempPath(), "cluster-test.conf"));
        Assert.True(config.IsValid, string.Join("\n", config.Errors));

        var clusterOptions = new ClusterOptions { Port = 0, StableAfter = TimeSpan.FromSeconds(5) };
        var systems = new List<ActorSystem>();
        for (var i = 0; i < count; i++)
        {
            var system = ActorSystem.Create(ClusterOptions.SystemName, ClusterBootstrap.ConfigFor(clusterOptions, "akka.loglevel = WARNING\nakka.coordinated-shutdown.run-by-actor-system-terminate = off"));
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.Join(i == 0 ? cluster.SelfAddress : Akka.Cluster.Cluster.Get(systems[0]).SelfAddress);
            systems.Add(system);
        }

        await Task.WhenAll(systems.Select(WhenUp));
        // All nodes start sharding together: the coordinator reads its state from the other nodes' replicas.
        var started = systems.Select(system => StreamLbNode.Start(system, config.Config!, options)).ToList();
        var nodes = new List<ClusterNode>();
        foreach (var (system, node) in systems.Zip(started))
        {
            var bound = await node.WhenBound(Patience);
            nodes.Add(new ClusterNode(system, node, ((IPEndPoint)bound[0]).Port));
        }

        return new ClusterHarness(nodes);
    }

    /// <summary>The node whose shard region hosts the balancer entity of <paramref name="upstream"/>, once one does.</summary>
    public async Task<ClusterNode> BalancerHome(string upstream = "backend")
    {
        var alive = Nodes.Where(n => !n.System.WhenTerminated.IsCompleted).ToList();
        await alive[0].Snapshot(upstream); // the entity starts on its first message
        foreach (var node in alive)
        {
            var region = ClusterSharding.Get(node.System).ShardRegion(BalancerShardRegion.TypeName);
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, Patience);
            if (state.Shards.Any(s => s.EntityIds.Contains(upstream)))
                return node;
        }

        throw new InvalidOperationException($"no node hosts the balancer of \"{upstream}\"");
    }

    private static Task WhenUp(ActorSystem system)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        return up.Task.WaitAsync(Patience);
    }

    public async ValueTask DisposeAsync() =>
        await Task.WhenAll(Nodes.Select(n => n.System.Terminate())).WaitAsync(Patience);
}

/// <summary>One node of a <see cref="ClusterHarness"/>: its actor system, its StreamLb node and its TLS port.</summary>
internal sealed record ClusterNode(ActorSystem System, StreamLbNode Node, int Port)
{
    public Task<UpstreamSnapshot> Snapshot(string upstream = "backend", TimeSpan? timeout = null) =>
        Node.Snapshot(upstream, timeout ?? ClusterHarness.Patience);

    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;
}
