namespace StreamLb.Balancing;

/// <summary>
/// <c>hash KEY consistent</c>: a ketama-like ring with 160 points per unit of weight, each at the CRC-32 of the
/// server's address and the point's index. A key goes to the next point clockwise whose server is a candidate, so
/// losing a server moves only the keys it held.
/// </summary>
internal sealed class ConsistentHashLoadBalancingPolicy : ILoadBalancingPolicy
{
    private const int PointsPerWeight = 160;

    private IReadOnlyList<ServerEntry> _ringServers = [];
    private (uint Hash, ServerEntry Server)[] _ring = [];

    public string Name => LoadBalancingPolicies.Hash;

    public ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates)
    {
        if (candidates.Count == 0)
            return null;
        if (!_ringServers.SequenceEqual(request.Servers))
            Rebuild(request.Servers);
        var start = FirstPointAtOrAfter(Crc32.Of(request.KeyToHash));
        for (var step = 0; step < _ring.Length; step++)
        {
            var server = _ring[(start + step) % _ring.Length].Server;
            if (candidates.Contains(server))
                return server;
        }
        // Only a candidate missing from the servers list gets here; still give an answer.
        return candidates[0];
    }

    private void Rebuild(IReadOnlyList<ServerEntry> servers)
    {
        _ringServers = servers.ToArray();
        _ring = servers
            .SelectMany(s => Enumerable.Range(0, s.Weight * PointsPerWeight).Select(i => (Hash: Crc32.Of($"{s.Address}-{i}"), Server: s)))
            .OrderBy(p => p.Hash)
            .ThenBy(p => p.Server.Address, StringComparer.Ordinal)
            .ToArray();
    }

    private int FirstPointAtOrAfter(uint hash)
    {
        int low = 0, high = _ring.Length;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_ring[middle].Hash < hash)
                low = middle + 1;
            else
                high = middle;
        }
        return low == _ring.Length ? 0 : low;
    }
}
