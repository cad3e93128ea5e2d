namespace StreamLb.Configuration;

/// <summary>
/// The whole <c>stream { }</c> configuration of a node: upstream groups and the proxy servers that listen.
/// Immutable; the rest of the node only ever reads it.
/// </summary>
public sealed record StreamConfig
{
    public required IReadOnlyList<UpstreamConfig> Upstreams { get; init; }

    public required IReadOnlyList<ProxyServerConfig> Servers { get; init; }

    /// <summary>The file the configuration was loaded from (absolute), or null when built in code.</summary>
    public string? SourceFile { get; init; }

    /// <summary>The upstream called <paramref name="name"/>, or null. On every balancer message's way: a plain loop.</summary>
    public UpstreamConfig? FindUpstream(string name)
    {
        foreach (var upstream in Upstreams)
        {
            if (upstream.Name == name)
                return upstream;
        }

        return null;
    }
}
