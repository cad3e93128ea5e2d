using Akka.Actor;
using Akka.Configuration;
using StreamLb.Hosting;

namespace StreamLb.Clustering;

/// <summary>Creates a clustered actor system for a node and joins it: to the seeds, or to itself when there are none.</summary>
public static class ClusterBootstrap
{
    /// <summary>The node's Akka configuration; also applies <see cref="RemoteTransportDefaults"/>, once per process.</summary>
    public static Config ConfigFor(ClusterOptions options, string? extraHocon = null)
    {
        RemoteTransportDefaults.Apply();
        return ConfigurationFactory.ParseString(extraHocon ?? "")
            .WithFallback(ConfigurationFactory.ParseString(ClusterHocon.Build(options)))
            .WithFallback(ConfigurationFactory.ParseString(BalancerSerializer.Hocon))
            .WithFallback(ConfigurationFactory.ParseString(NodeHocon.Default))
            // The modules' own defaults (serializers among them) must be there before the first remote message.
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig())
            .WithFallback(Akka.DistributedData.DistributedData.DefaultConfig());
    }

    /// <summary>Joins the cluster; a node without seeds forms a cluster of one (seeds in the config join by themselves).</summary>
    public static void Join(ActorSystem system, ClusterOptions options)
    {
        if (options.Seeds.Count == 0)
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.Join(cluster.SelfAddress);
        }
    }
}
