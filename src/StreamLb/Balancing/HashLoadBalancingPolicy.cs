namespace StreamLb.Balancing;

/// <summary>
/// <c>hash KEY</c>: CRC-32 of the key modulo the total weight of the servers' tier (primary or backup). When that
/// server is unavailable the key is spread over the candidates instead, so one server's absence reshuffles keys.
/// </summary>
internal sealed class HashLoadBalancingPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingPolicies.Hash;

    public ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates)
    {
        if (candidates.Count == 0)
            return null;
        var hash = Crc32.Of(request.KeyToHash);
        var tier = request.Servers.Where(s => s.Backup == candidates[0].Backup).ToList();
        var first = WeightedChoice.At(tier, hash % WeightedChoice.TotalWeight(tier));
        return candidates.Contains(first) ? first : WeightedChoice.At(candidates, hash % WeightedChoice.TotalWeight(candidates));
    }
}
