using StreamLb.Tls;
namespace StreamLb.Hosting;

/// <summary>Per-node settings that do not come from the stream configuration.</summary>
public sealed record NodeOptions
{
    /// <summary>The node's name in connection ids and ledger reports; in a cluster, its address and uid.</summary>
    public string Node { get; init; } = "local";

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Randomness for the random policies; seeded in tests.</summary>
    public Func<Random> RandomFactory { get; init; } = () => Random.Shared;

    /// <summary>How long a pick may wait for the balancer before the node picks from its last snapshot.</summary>
    public TimeSpan PickTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the node refreshes its snapshot of every upstream for such picks.</summary>
    public TimeSpan SnapshotRefresh { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the node's ledger sends complete reports, mending messages lost while a balancer moved.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a clustered node waits for its balancers to answer before it listens anyway.</summary>
    public TimeSpan WarmUpTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a drained server's connections may go on; null lets them run until they end.</summary>
    public TimeSpan? DrainTimeout { get; init; }

    /// <summary>
    /// How long a stopping node lets its connections go on once it has stopped accepting, before it closes those left
    /// with it; zero closes them at once.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most client connections at once, when lower than what the process's open-file limit allows
    /// (<see cref="Listening.ConnectionLimit"/>); null for that.
    /// </summary>
    public int? MaxConnections { get; init; }

    /// <summary>How long a runtime membership change waits for a majority of the nodes (cluster only).</summary>
    public TimeSpan ReplicationTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>What terminates TLS: the system's OpenSSL when it loads (the default), or .NET's SslStream.</summary>
    public TlsEngine TlsEngine { get; init; } = TlsEngine.Auto;
}
