using System.Net;

namespace StreamLb.Host.Admin;

/// <summary>Where the admin API listens and who may change the upstreams through it.</summary>
public sealed record AdminOptions
{
    /// <summary>The address to listen on; port 0 picks a free port (see <see cref="AdminApi.EndPoint"/>).</summary>
    public required IPEndPoint EndPoint { get; init; }

    /// <summary>
    /// When set, every POST, PATCH and DELETE must carry <c>Authorization: Bearer TOKEN</c>; GETs stay open.
    /// Required unless <see cref="EndPoint"/> is a loopback address.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>How long a request waits for the balancer of an upstream before it answers 503.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
