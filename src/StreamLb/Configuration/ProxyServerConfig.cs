namespace StreamLb.Configuration;

/// <summary>A <c>server { }</c> block of the stream context: where to listen and where to relay to.</summary>
public sealed record ProxyServerConfig
{
    public required IReadOnlyList<ListenConfig> Listens { get; init; }

    /// <summary>The upstream name of <c>proxy_pass</c>.</summary>
    public required string ProxyPass { get; init; }

    /// <summary>Set when any listen has <c>ssl</c>; certificate paths are absolute.</summary>
    public TlsConfig? Tls { get; init; }

    public TimeSpan ProxyConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Idle timeout: the longest time with no byte read or written in either direction.</summary>
    public TimeSpan ProxyTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// <c>proxy_half_close</c>: when one side ends its writing, pass that on and keep relaying the other direction.
    /// On by default (nginx's default is off): a relay for long-lived protocols should not cut off a peer's answer.
    /// Off closes both directions as soon as either side has finished and its bytes are delivered.
    /// </summary>
    public bool HalfClose { get; init; } = true;

    public bool NextUpstream { get; init; } = true;

    /// <summary>Most servers tried for one connection; 0 means no limit.</summary>
    public int NextUpstreamTries { get; init; }

    /// <summary>Longest time spent trying servers for one connection; zero means no limit.</summary>
    public TimeSpan NextUpstreamTimeout { get; init; }

    public SourceLocation Location { get; init; }
}
