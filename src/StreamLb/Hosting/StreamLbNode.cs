using System.Net;
using Akka.Actor;
using StreamLb.Balancing;
using StreamLb.Configuration;
using StreamLb.Connections;
using StreamLb.Listening;
using StreamLb.Tls;

namespace StreamLb.Hosting;

/// <summary>
/// A running node's actors: the connection ledger, the balancer region and one listener per <c>listen</c>.
/// <see cref="Start"/> creates them in an actor system; the handle answers questions about them.
/// </summary>
public sealed class StreamLbNode
{
    private long _connectionNumber;

    private StreamLbNode(ActorSystem system, StreamConfig config, NodeOptions options)
    {
        System = system;
        Config = config;
        Options = options;
    }

    public ActorSystem System { get; }

    public StreamConfig Config { get; }

    public NodeOptions Options { get; }

    public IActorRef Ledger { get; private set; } = ActorRefs.Nobody;

    public IActorRef Balancers { get; private set; } = ActorRefs.Nobody;

    public IReadOnlyList<IActorRef> Listeners { get; private set; } = [];

    public static StreamLbNode Start(ActorSystem system, StreamConfig config, NodeOptions? options = null)
    {
        var node = new StreamLbNode(system, config, options ?? new NodeOptions());
        var time = node.Options.Time;
        var random = node.Options.RandomFactory;
        node.Balancers = system.ActorOf(
            LocalBalancerRegion.Props(config, upstream => BalancerActor.Props(upstream, new LocalLedgerDirectory(), time, random())), "balancers");
        node.Ledger = system.ActorOf(ConnectionLedger.Props(node.Options.Node, node.Balancers), ConnectionLedger.Name);
        var listeners = new List<IActorRef>();
        foreach (var server in config.Servers)
        {
            var tls = server.Tls is null ? null : ServerTlsOptions.Create(server.Tls);
            foreach (var listen in server.Listens)
            {
                var settings = new ListenerSettings
                {
                    Listen = listen,
                    Server = server,
                    HashKey = config.FindUpstream(server.ProxyPass)?.HashKey,
                    Tls = listen.Ssl ? tls : null,
                    Node = node.Options.Node,
                    Balancers = node.Balancers,
                    Ledger = node.Ledger,
                    PickTimeout = node.Options.PickTimeout,
                };
                listeners.Add(system.ActorOf(ListenerActor.Props(settings, node.NextConnectionNumber), $"listener-{listeners.Count + 1}"));
            }
        }

        node.Listeners = listeners;
        return node;
    }

    /// <summary>The bound address of every listener, in config order (ports resolved when the config says 0).</summary>
    public async Task<IReadOnlyList<EndPoint>> WhenBound(TimeSpan timeout)
    {
        var bound = await Task.WhenAll(Listeners.Select(l => l.Ask<ListenerActor.Bound>(ListenerActor.GetBinding.Instance, timeout))).ConfigureAwait(false);
        return bound.Select(b => b.LocalAddress).ToArray();
    }

    /// <summary>Live client connections on this node (connection actors alive).</summary>
    public async Task<int> CountConnections(TimeSpan timeout)
    {
        var counts = await Task.WhenAll(Listeners.Select(l => l.Ask<int>(ListenerActor.GetConnectionCount.Instance, timeout))).ConfigureAwait(false);
        return counts.Sum();
    }

    public Task<UpstreamSnapshot> Snapshot(string upstream, TimeSpan timeout) =>
        Balancers.Ask<UpstreamSnapshot>(new GetUpstreamSnapshot(upstream), timeout);

    private long NextConnectionNumber() => Interlocked.Increment(ref _connectionNumber);
}
