namespace StreamLb.Clustering;

/// <summary>How a node joins the cluster: its own remoting endpoint and the seed nodes.</summary>
public sealed record ClusterOptions
{
    public const string SystemName = "streamlb";

    /// <summary>The address other nodes reach this one at; one host form everywhere (addresses compare as strings).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks an ephemeral port (a cluster of one, or tests).</summary>
    public int Port { get; init; }

    /// <summary><c>host:port</c> of the seed nodes; none forms a cluster of one with this node.</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];

    /// <summary>Split-brain resolver: how long membership must be stable before unreachable nodes are downed.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long a membership change waits for a majority of the nodes.</summary>
    public TimeSpan ReplicationTimeout { get; init; } = TimeSpan.FromSeconds(3);
}
