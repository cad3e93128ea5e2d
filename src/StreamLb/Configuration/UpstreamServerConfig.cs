namespace StreamLb.Configuration;

/// <summary>A <c>server ADDR [weight=N] [max_conns=N] [max_fails=N] [fail_timeout=T] [backup] [down];</c> line.</summary>
public sealed record UpstreamServerConfig
{
    /// <summary><c>host:port</c> as written (IPv6 in brackets); the server's identity in the balancer.</summary>
    public required string Address { get; init; }

    public int Weight { get; init; } = 1;

    /// <summary>Most active connections at once, cluster-wide; 0 means no limit (nginx's default).</summary>
    public int MaxConns { get; init; }

    /// <summary>Failed connects within <see cref="FailTimeout"/> that mark the server failed; 0 disables.</summary>
    public int MaxFails { get; init; } = 1;

    public TimeSpan FailTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public bool Backup { get; init; }

    public bool Down { get; init; }

    public SourceLocation Location { get; init; }
}
