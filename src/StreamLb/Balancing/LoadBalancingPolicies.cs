namespace StreamLb.Balancing;

/// <summary>The names of the load-balancing policies, as the configuration and the admin API spell them.</summary>
public static class LoadBalancingPolicies
{
    /// <summary>Smooth weighted round robin; nginx's default when an upstream names no method.</summary>
    public const string RoundRobin = "round_robin";

    /// <summary><c>least_conn</c>: fewest active connections relative to weight, cluster-wide.</summary>
    public const string LeastConn = "least_conn";

    /// <summary><c>hash KEY [consistent]</c>.</summary>
    public const string Hash = "hash";

    /// <summary><c>random</c>: weighted random.</summary>
    public const string Random = "random";

    /// <summary><c>random two [least_conn]</c>: two weighted random picks, the one with fewer connections wins.</summary>
    public const string RandomTwoLeastConn = "random_two_least_conn";
}
