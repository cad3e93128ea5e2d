using System.Net;
using Akka;
using Akka.Actor;
using Akka.Event;
using StreamLb.Balancing;
using StreamLb.Balancing.Membership;
using StreamLb.Clustering;
using StreamLb.Configuration;
using StreamLb.Connections;
using StreamLb.Listening;
using StreamLb.Relay;
using StreamLb.Tls;

namespace StreamLb.Hosting;

/// <summary>
/// A running node's actors: the connection ledger, the balancers (a local region, or the cluster's shard region when
/// the actor system is clustered), the fallback picker and one listener per <c>listen</c>. In a cluster the listeners
/// bind once the node is up, so that no connection waits on a cluster it has not joined.
/// </summary>
public sealed class StreamLbNode
{
    // While the node stops: how long a listener may take to answer.
    private static readonly TimeSpan AskDuringStop = TimeSpan.FromSeconds(3);

    private readonly TaskCompletionSource<IReadOnlyList<IActorRef>> _listeners = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<ProxyServerConfig, ServerTls> _tls = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _gate = new();
    private bool _stopping;
    private long _connectionNumber;

    private StreamLbNode(ActorSystem system, StreamConfig config, NodeOptions options)
    {
        System = system;
        Config = config;
        Options = options;
        Log = Logging.GetLogger(system, nameof(StreamLbNode));
    }

    public ActorSystem System { get; }

    public StreamConfig Config { get; }

    public NodeOptions Options { get; }

    public bool Clustered { get; private init; }

    public IActorRef Ledger { get; private set; } = ActorRefs.Nobody;

    public IActorRef Balancers { get; private set; } = ActorRefs.Nobody;

    /// <summary>How long this node's connections waited for their picks.</summary>
    public PickLatency PickLatency { get; } = new();

    /// <summary>How many client connections the node holds at once, and holds now.</summary>
    public ConnectionLimit Limit { get; private init; } = ConnectionLimit.None;

    public static StreamLbNode Start(ActorSystem system, StreamConfig config, NodeOptions? options = null)
    {
        var clustered = system.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal);
        options ??= new NodeOptions();
        if (clustered)
        {
            options = options with { Node = NodeNames.Of(Akka.Cluster.Cluster.Get(system).SelfUniqueAddress) };
            // The runtime membership is written to a majority of the nodes: every node must run its replicator, not
            // only the node a balancer lives on (the extension starts it on first use).
            Akka.DistributedData.DistributedData.Get(system);
        }

        var limit = ConnectionLimit.FromOpenFileLimit().AtMost(options.MaxConnections);
        var node = new StreamLbNode(system, config, options) { Clustered = clustered, Limit = limit };
        if (limit.FileLimit is not null || options.MaxConnections is not null)
            node.Log.Info("up to {0} connections at once (open-file limit {1})", limit.Max, limit.FileLimit?.ToString() ?? "unknown");
        // Loaded before anything starts, so that a certificate OpenSSL refuses stops the node at once.
        foreach (var server in config.Servers.Where(s => s.Tls is not null))
        {
            var tls = ServerTls.Create(server.Tls!, options.TlsEngine);
            node._tls[server] = tls;
            system.RegisterOnTermination(tls.Dispose);
        }

        if (node._tls.Count > 0)
            Logging.GetLogger(system, nameof(StreamLbNode)).Info("TLS by {0}", node._tls.Values.First().Engine);

        var settings = new BalancerSettings
        {
            Ledgers = clustered ? new ClusterLedgerDirectory() : new LocalLedgerDirectory(),
            Membership = clustered ? new ReplicatedMembershipStore(options.ReplicationTimeout) : new LocalMembershipStore(),
            Time = options.Time,
            RandomFactory = options.RandomFactory,
            DrainTimeout = options.DrainTimeout,
            WatchClusterMembers = clustered,
            Node = clustered ? options.Node : null,
        };
        node.Balancers = clustered
            ? BalancerShardRegion.Start(system, config, settings)
            : system.ActorOf(LocalBalancerRegion.Props(config, upstream => RelayDispatcher.On(system, BalancerActor.Props(upstream, settings))), "balancers");
        node.Ledger = system.ActorOf(
            RelayDispatcher.On(system,
                ConnectionLedger.Props(options.Node, node.Balancers, config.Upstreams.Select(u => u.Name).ToList(), options.ReconcileInterval)),
            ConnectionLedger.Name);
        var fallback = system.ActorOf(FallbackPicker.Props(node.Balancers, config.Upstreams, options.SnapshotRefresh), "fallback-picker");

        node.StopWithTheSystem();
        if (clustered)
            Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => _ = node.WarmUpThenListen(fallback));
        else
            node.StartListeners(fallback);
        return node;
    }

    /// <summary>
    /// How the node stops with its actor system (SIGTERM, Ctrl+C, or the system terminated), before the cluster's
    /// own steps: first its listeners stop accepting, so that new clients are refused at once instead of being taken
    /// by a node on its way out; then it lets its connections go on for up to <see cref="NodeOptions.ShutdownTimeout"/>
    /// (the balancers still answer meanwhile), and closes those left. As a .NET host stops its server, and as nginx's
    /// graceful quit does with a worker_shutdown_timeout.
    /// </summary>
    private void StopWithTheSystem()
    {
        var shutdown = CoordinatedShutdown.Get(System);
        shutdown.AddTask(CoordinatedShutdown.PhaseServiceUnbind, "streamlb-stop-accepting", StopAccepting);
        // Within the phase's own time limit, which the program sets from the option (Akka's default is 5 s).
        var limit = shutdown.Timeout(CoordinatedShutdown.PhaseServiceRequestsDone) - TimeSpan.FromSeconds(1);
        shutdown.AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "streamlb-connections-done",
            () => LetConnectionsEnd(Options.ShutdownTimeout < limit ? Options.ShutdownTimeout : limit));
    }

    private async Task<Done> StopAccepting()
    {
        lock (_gate)
        {
            _stopping = true;
            _listeners.TrySetResult([]); // none started yet: none will
        }

        var listeners = await _listeners.Task.ConfigureAwait(false);
        try
        {
            await Task.WhenAll(listeners.Select(l => l.Ask<Done>(ListenerActor.StopAccepting.Instance, AskDuringStop))).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            Log.Warning("a listener did not stop accepting within {0}; stopping anyway", AskDuringStop);
        }

        return Done.Instance;
    }

    private async Task<Done> LetConnectionsEnd(TimeSpan limit)
    {
        var listeners = await _listeners.Task.ConfigureAwait(false);
        var open = Limit.Open;
        if (open == 0)
            return Done.Instance;
        if (limit > TimeSpan.Zero)
        {
            Log.Info("waiting up to {0} for {1} connection(s) to end", limit, open);
            try
            {
                await Limit.WhenNoneOpen().WaitAsync(limit).ConfigureAwait(false);
                Log.Info("every connection ended");
                return Done.Instance;
            }
            catch (TimeoutException)
            {
                // Those left are closed below.
            }
        }

        Log.Info("closing the {0} connection(s) still open", Limit.Open);
        // Stopping a listener stops its connection actors, which close their sockets.
        await Task.WhenAll(listeners.Select(Stop)).ConfigureAwait(false);
        return Done.Instance;

        static async Task Stop(IActorRef listener)
        {
            try
            {
                await listener.GracefulStop(AskDuringStop).ConfigureAwait(false);
            }
            catch (TaskCanceledException)
            {
                // Not stopped in time: the actor system's end stops it.
            }
        }
    }

    private ILoggingAdapter Log { get; }

    /// <summary>
    /// The first message to a sharded balancer starts it (shard allocation, membership read): ask every balancer once
    /// before accepting connections, so the first clients do not wait on that. Bounded: a node listens anyway.
    /// </summary>
    private async Task WarmUpThenListen(IActorRef fallback)
    {
        try
        {
            await Task.WhenAll(Config.Upstreams.Select(u => Snapshot(u.Name, Options.WarmUpTimeout))).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            Akka.Event.Logging.GetLogger(System, nameof(StreamLbNode)).Warning("the balancers did not answer within {0}; listening anyway", Options.WarmUpTimeout);
        }

        StartListeners(fallback);
    }

    private void StartListeners(IActorRef fallback)
    {
        lock (_gate)
        {
            if (!_stopping)
                _listeners.TrySetResult(MakeListeners(fallback));
        }
    }

    private List<IActorRef> MakeListeners(IActorRef fallback)
    {
        var listeners = new List<IActorRef>();
        foreach (var server in Config.Servers)
        {
            var tls = _tls.GetValueOrDefault(server);
            foreach (var listen in server.Listens)
            {
                var settings = new ListenerSettings
                {
                    Listen = listen,
                    Server = server,
                    HashKey = Config.FindUpstream(server.ProxyPass)?.HashKey,
                    Tls = listen.Ssl ? tls : null,
                    Node = Options.Node,
                    Ledger = Ledger,
                    FallbackPicker = fallback,
                    PickTimeout = Options.PickTimeout,
                    PickLatency = PickLatency,
                    Limit = Limit,
                };
                // On the relay dispatcher: an accept's completion runs the listener, and the new connection, on its thread.
                listeners.Add(System.ActorOf(RelayDispatcher.On(System, ListenerActor.Props(settings, NextConnectionNumber)), $"listener-{listeners.Count + 1}"));
            }
        }

        return listeners;
    }

    /// <summary>The bound address of every listener, in config order (ports resolved when the config says 0).</summary>
    public async Task<IReadOnlyList<EndPoint>> WhenBound(TimeSpan timeout)
    {
        var listeners = await _listeners.Task.WaitAsync(timeout).ConfigureAwait(false);
        var bound = await Task.WhenAll(listeners.Select(l => l.Ask<ListenerActor.Bound>(ListenerActor.GetBinding.Instance, timeout))).ConfigureAwait(false);
        return bound.Select(b => b.LocalAddress).ToArray();
    }

    public Task<UpstreamSnapshot> Snapshot(string upstream, TimeSpan timeout) =>
        Balancers.Ask<UpstreamSnapshot>(new GetUpstreamSnapshot(upstream), timeout);

    private long NextConnectionNumber() => Interlocked.Increment(ref _connectionNumber);
}
