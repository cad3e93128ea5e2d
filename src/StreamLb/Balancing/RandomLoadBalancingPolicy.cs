namespace StreamLb.Balancing;

/// <summary><c>random</c>: a candidate drawn with probability proportional to its weight.</summary>
internal sealed class RandomLoadBalancingPolicy(Random random) : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicies.Random;

    public ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates) =>
        WeightedChoice.Random(candidates, random);
}
