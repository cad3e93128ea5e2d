namespace StreamLb.Hosting;

/// <summary>Per-node settings that do not come from the stream configuration.</summary>
public sealed record NodeOptions
{
    /// <summary>The node's name in connection ids and ledger reports; unique within a cluster.</summary>
    public string Node { get; init; } = "local";

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Randomness for the random and hash policies' tie-breaking; seeded in tests.</summary>
    public Func<Random> RandomFactory { get; init; } = () => Random.Shared;

    /// <summary>How long a pick may wait for the balancer.</summary>
    public TimeSpan PickTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
