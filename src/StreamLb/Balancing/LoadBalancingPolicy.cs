using StreamLb.Configuration;

namespace StreamLb.Balancing;

/// <summary>Makes the policy an upstream's configuration names.</summary>
public static class LoadBalancingPolicy
{
    /// <param name="random">The source of every random choice; seed it in tests. Not shared across threads unless it is <see cref="Random.Shared"/>.</param>
    public static ILoadBalancingPolicy Create(UpstreamConfig config, Random random) => config.Policy switch
    {
        LoadBalancingPolicies.RoundRobin => new RoundRobinLoadBalancingPolicy(),
        LoadBalancingPolicies.LeastConn => new LeastConnLoadBalancingPolicy(),
        LoadBalancingPolicies.Hash when config.HashConsistent => new ConsistentHashLoadBalancingPolicy(),
        LoadBalancingPolicies.Hash => new HashLoadBalancingPolicy(),
        LoadBalancingPolicies.Random => new RandomLoadBalancingPolicy(random),
        LoadBalancingPolicies.RandomTwoLeastConn => new RandomTwoLeastConnLoadBalancingPolicy(random),
        _ => throw new ArgumentException($"Unknown load-balancing policy \"{config.Policy}\" in upstream \"{config.Name}\".", nameof(config)),
    };
}
