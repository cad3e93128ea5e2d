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

    /// <summary>
    /// The upstream called <paramref name="name"/>, or null. On every balancer message's way: a plain loop by index (a
    /// foreach over the interface would box its enumerator each time).
    /// </summary>
    public UpstreamConfig? FindUpstream(string name)
    {
        var upstreams = Upstreams;
        for (var i = 0; i < upstreams.Count; i++)
        {
            if (upstreams[i].Name == name)
                return upstreams[i];
        }

        return null;
    }
}
