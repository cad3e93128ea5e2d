namespace StreamLb.Configuration;

/// <summary>An <c>upstream NAME { }</c> block: a group of servers and the method that picks among them.</summary>
public sealed record UpstreamConfig
{
    public required string Name { get; init; }

    public required IReadOnlyList<UpstreamServerConfig> Servers { get; init; }

    /// <summary>One of <see cref="Balancing.LoadBalancingPolicies"/>; round robin when the block names none.</summary>
    public string Policy { get; init; } = Balancing.LoadBalancingPolicies.RoundRobin;

    /// <summary>The key of <c>hash KEY [consistent]</c>, e.g. <c>$remote_addr</c>; null for other policies.</summary>
    public string? HashKey { get; init; }

    /// <summary>Set by <c>hash KEY consistent</c> (ketama ring) as opposed to plain modulo hashing.</summary>
    public bool HashConsistent { get; init; }

    /// <summary>Active health checks, enabled by <c>health_check</c> in a server block that proxies here; null when off.</summary>
    public HealthCheckConfig? HealthCheck { get; init; }

    public SourceLocation Location { get; init; }
}
