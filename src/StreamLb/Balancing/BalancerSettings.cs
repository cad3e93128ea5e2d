using StreamLb.Balancing.Membership;
using StreamLb.Connections;

namespace StreamLb.Balancing;

/// <summary>What a balancer needs besides its upstream's config; the same for every upstream of a node.</summary>
public sealed record BalancerSettings
{
    public required ILedgerDirectory Ledgers { get; init; }

    public IMembershipStore Membership { get; init; } = new LocalMembershipStore();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Makes the random source of one balancer's policy.</summary>
    public Func<Random> RandomFactory { get; init; } = () => Random.Shared;

    /// <summary>How long a drained server's connections may go on; null lets them run until they end.</summary>
    public TimeSpan? DrainTimeout { get; init; }

    /// <summary>In a cluster: drop the connections of a node as soon as it is removed from the cluster.</summary>
    public bool WatchClusterMembers { get; init; }

    /// <summary>
    /// The node this balancer runs on, in a cluster: each other node that asks is given its next pick ahead
    /// (<see cref="NextPick"/>). Null: every pick is asked for.
    /// </summary>
    public string? Node { get; init; }

    /// <summary>
    /// At most how often a node's pick made ahead is replaced because the counts moved (a server leaving rotation
    /// replaces it at once).
    /// </summary>
    public TimeSpan NextPickReviewInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a new incarnation waits for the replicated membership before it serves picks anyway.</summary>
    public TimeSpan RecoveryTimeout { get; init; } = TimeSpan.FromSeconds(3);
}
