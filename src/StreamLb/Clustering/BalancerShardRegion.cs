using Akka.Actor;
using Akka.Cluster.Sharding;
using StreamLb.Balancing;
using StreamLb.Configuration;
using StreamLb.Relay;

namespace StreamLb.Clustering;

/// <summary>
/// The balancers of the cluster: one sharded entity per upstream (entity id = upstream name), reached through the
/// shard region with the same messages the single-node region takes.
/// </summary>
public static class BalancerShardRegion
{
    public const string TypeName = "balancer";

    private const int Shards = 16;

    public static IActorRef Start(ActorSystem system, StreamConfig config, BalancerSettings settings)
    {
        var sharding = ClusterSharding.Get(system);
        // State lives in the ledgers and the replicated membership, not in the coordinator's remembered entities.
        var shardingSettings = ClusterShardingSettings.Create(system)
            .WithStateStoreMode(StateStoreMode.DData)
            .WithRememberEntities(false);
        return sharding.Start(
            TypeName,
            upstream => RelayDispatcher.On(system,
                BalancerActor.Props(config.FindUpstream(upstream) ?? throw new ArgumentException($"unknown upstream \"{upstream}\""), settings)),
            shardingSettings,
            new Extractor(config));
    }

    private sealed class Extractor(StreamConfig config) : HashCodeMessageExtractor(Shards)
    {
        // Messages for upstreams the config does not have are dropped here rather than starting an entity.
        public override string? EntityId(object message) =>
            message is IBalancerMessage m && config.FindUpstream(m.Upstream) is not null ? m.Upstream : null;
    }
}
