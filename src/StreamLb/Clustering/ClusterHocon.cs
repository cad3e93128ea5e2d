using System.Globalization;

namespace StreamLb.Clustering;

/// <summary>The Akka settings of a clustered node, from its <see cref="ClusterOptions"/>.</summary>
public static class ClusterHocon
{

    public static string Build(ClusterOptions options)
    {
        var seeds = string.Join(", ", options.Seeds.Select(s => $"\"akka.tcp://{ClusterOptions.SystemName}@{s}\""));
        var stableAfter = ((int)options.StableAfter.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        return $$"""
            akka {
              actor.provider = cluster
              remote.default-remote-dispatcher.executor = "{{Relay.RelayDispatcher.Executor}}"
              remote.dot-netty.tcp {
                hostname = "{{options.Host}}"
                port = {{options.Port.ToString(CultureInfo.InvariantCulture)}}
              }
              cluster {
                seed-nodes = [{{seeds}}]
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = {{stableAfter}}ms
                }
                sharding {
                  use-dispatcher = "{{Relay.RelayDispatcher.Id}}"
                  state-store-mode = ddata
                  remember-entities = off
                  # A balancer is never idle in the sense that matters: its counts must not be dropped.
                  passivate-idle-entity-after = off
                }
                distributed-data.notify-subscribers-interval = 100ms
              }
            }
            """;
    }
}
