namespace StreamLb.Balancing;

/// <summary>
/// Picks the server for a new connection. An instance belongs to one balancer and is called from its thread only, so
/// it may keep state between picks (round-robin positions, a hash ring).
/// </summary>
public interface ILoadBalancingPolicy
{
    /// <summary>One of <see cref="LoadBalancingPolicies"/>.</summary>
    string Name { get; }

    /// <summary>
    /// Picks one of <paramref name="candidates"/>: servers that can take the connection now (not down, not failed,
    /// under <c>max_conns</c>, not tried yet; backups only when no primary is left). Null only when there are none.
    /// </summary>
    ServerEntry? Pick(PickRequest request, IReadOnlyList<ServerEntry> candidates);
}
