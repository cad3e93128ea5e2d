using StreamLb.Tls;
using System.Net.Security;
using Akka.Actor;
using StreamLb.Balancing;
using StreamLb.Configuration;

namespace StreamLb.Listening;

/// <summary>Everything a listener and its connection actors need; built once per <c>listen</c>.</summary>
public sealed record ListenerSettings
{
    public required ListenConfig Listen { get; init; }

    public required ProxyServerConfig Server { get; init; }

    /// <summary>The upstream's <c>hash</c> key template (e.g. <c>$remote_addr</c>), or null.</summary>
    public string? HashKey { get; init; }

    /// <summary>Null for a plain TCP <c>listen</c>.</summary>
    public ServerTls? Tls { get; init; }

    /// <summary>The node's name in connection ids and ledger reports.</summary>
    public required string Node { get; init; }

    /// <summary>The node's connection ledger; asks and releases go to the balancers through it.</summary>
    public required IActorRef Ledger { get; init; }

    /// <summary>Answers picks from the last snapshot when the balancer does not answer within <see cref="PickTimeout"/>.</summary>
    public required IActorRef FallbackPicker { get; init; }

    /// <summary>Where the node's connections record how long their picks took.</summary>
    public PickLatency PickLatency { get; init; } = new();

    /// <summary>How many connections the node holds at once, over all its listeners; counted by them and their connections.</summary>
    public ConnectionLimit Limit { get; init; } = ConnectionLimit.None;

    /// <summary>How long a pick may wait for the balancer before the fallback picker answers instead.</summary>
    public TimeSpan PickTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
