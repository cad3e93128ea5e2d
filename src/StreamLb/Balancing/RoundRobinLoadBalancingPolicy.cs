namespace StreamLb.Balancing;

/// <summary>
/// nginx's smooth weighted round robin: every candidate's current weight grows by its weight, the largest is picked
/// and loses the candidates' total. Weights 5,1,1 give <c>a a b a c a a</c>, not <c>a a a a a b c</c>.
/// </summary>
internal sealed class RoundRobinLoadBalancingPolicy : ILoadBalancingPolicy
{
    private readonly Dictionary<string, long> _current = [];

    public string Name => LoadBalancingPolicies.RoundRobin;

    public ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates)
    {
        ServerEntry? best = null;
        long bestCurrent = 0, total = 0;
        foreach (var server in candidates)
        {
            var current = _current.GetValueOrDefault(server.Address) + server.Weight;
            _current[server.Address] = current;
            total += server.Weight;
            if (best is null || current > bestCurrent)
                (best, bestCurrent) = (server, current);
        }
        if (best is not null)
            _current[best.Address] = bestCurrent - total;
        return best;
    }
}
