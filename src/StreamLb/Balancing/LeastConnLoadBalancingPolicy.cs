namespace StreamLb.Balancing;

/// <summary><c>least_conn</c>: fewest active connections per unit of weight.</summary>
internal sealed class LeastConnLoadBalancingPolicy : ILoadBalancingPolicy
{
    // Where the next scan starts, so equally loaded servers take turns instead of the first one always winning.
    private int _start;

    public string Name => LoadBalancingPolicies.LeastConn;

    public ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates)
    {
        if (candidates.Count == 0)
            return null;
        var bestIndex = _start % candidates.Count;
        for (var step = 1; step < candidates.Count; step++)
        {
            var index = (_start + step) % candidates.Count;
            if (candidates[index].CompareLoad(candidates[bestIndex]) < 0)
                bestIndex = index;
        }
        _start = bestIndex + 1;
        return candidates[bestIndex];
    }
}
