namespace StreamLb.Balancing;

/// <summary>
/// <c>random two least_conn</c>: two different candidates drawn by weight; the one with fewer active connections per
/// unit of weight wins. Nearly as even as least_conn, without every node herding onto the same emptiest server.
/// </summary>
internal sealed class RandomTwoLeastConnLoadBalancingPolicy(Random random) : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicies.RandomTwoLeastConn;

    public ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates)
    {
        var first = WeightedChoice.Random(candidates, random);
        if (first is null || candidates.Count == 1)
            return first;
        var second = WeightedChoice.Random(candidates.Where(c => c != first).ToList(), random)!;
        return second.CompareLoad(first) < 0 ? second : first;
    }
}
