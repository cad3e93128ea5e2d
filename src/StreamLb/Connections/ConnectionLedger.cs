using Akka.Actor;
using StreamLb.Balancing;

namespace StreamLb.Connections;

/// <summary>
/// The node's record of its live connections and the server each counts against, at <c>/user/ledger</c>. Balancers
/// keep their counts in memory only; a new incarnation rebuilds them from every node's ledger. The way of this node's
/// asks to the balancers and of their answers; in a cluster it also holds, per upstream, the pick a balancer on
/// another node made ahead for this node's next connection (<see cref="NextPick"/>).
/// </summary>
public sealed class ConnectionLedger : ReceiveActor, IWithTimers
{
    public const string Name = "ledger";

    /// <summary>
    /// A connection was assigned <paramref name="Server"/>; sent once <see cref="Assigned"/> arrives. A connection
    /// <paramref name="PickedLocally"/> (the balancer did not answer in time) is reported to the balancer at once.
    /// </summary>
    public sealed record Track(string Upstream, string ConnectionId, string Server, bool PickedLocally = false)
    {
        public override string ToString() => $"Track({Upstream}, {ConnectionId}, {Server}{(PickedLocally ? ", picked locally" : "")})";
    }

    /// <summary>The connection ended: forget it and release it at the balancer.</summary>
    public sealed record Untrack(string Upstream, string ConnectionId)
    {
        public override string ToString() => $"Untrack({Upstream}, {ConnectionId})";
    }

    /// <summary>Connecting to the server failed: forget the connection and report the failure to the balancer.</summary>
    public sealed record TrackFailed(string Upstream, string ConnectionId, string Server)
    {
        public override string ToString() => $"TrackFailed({Upstream}, {ConnectionId}, {Server})";
    }

    /// <summary>Answered with the number (<see cref="int"/>) of live connections tracked, all upstreams together.</summary>
    public sealed class GetLiveCount
    {
        public static readonly GetLiveCount Instance = new();

        private GetLiveCount()
        {
        }

        public override string ToString() => "GetLiveCount";
    }

    /// <summary>Sent to a connection actor: close the connection in an orderly way, for <paramref name="Reason"/>.</summary>
    public sealed record CloseConnection(string Reason);

    private readonly record struct Live(string Server, IActorRef Connection);

    private readonly record struct Asking(string Upstream, IActorRef Connection);

    // upstream → connection id → server and connection actor
    private readonly Dictionary<string, Dictionary<string, Live>> _live = [];

    // Asks on their way (connection id → upstream and the connection actor that asked), and those a resync passed by
    // before their Track came.
    private readonly Dictionary<string, Asking> _asking = [];
    private readonly HashSet<string> _missedByResync = [];

    // upstream → the server a balancer picked ahead for this node's next connection (see NextPick)
    private readonly Dictionary<string, string> _nextPicks = [];

    private readonly string _node;

    public ConnectionLedger(string node, IActorRef balancerRegion, IReadOnlyList<string> upstreams, TimeSpan reconcileEvery)
    {
        _node = node;
        if (reconcileEvery > TimeSpan.Zero && upstreams.Count > 0)
            Timers.StartPeriodicTimer(Reconcile.Instance, Reconcile.Instance, reconcileEvery);
        // Release and ConnectFailed leave through here, after any report that listed the connection, so a resync can
        // never bring back a released connection. They go out even when untracked: Untrack may come before Track did.
        // The balancer answers the ledger, which hands the answer on: the sender the balancer sees (and, in a cluster,
        // resolves and serializes anew for every message) is then this one long-lived actor, not a new connection actor
        // each time.
        // A pick made ahead answers at once, and the balancer hears which connection took it; a retry (servers tried)
        // or a hashed pick is always asked for. Until its Track comes, the connection counts as an ask on its way.
        Receive<Acquire>(acquire =>
        {
            _asking[acquire.ConnectionId] = new Asking(acquire.Upstream, Sender);
            if (acquire.Tried.Count == 0 && acquire.HashKey is null && _nextPicks.Remove(acquire.Upstream, out var server))
            {
                Sender.Tell(new Assigned(acquire.ConnectionId, server));
                balancerRegion.Tell(new NextPickTaken(acquire.Upstream, acquire.ConnectionId, node, server));
            }
            else
            {
                balancerRegion.Tell(acquire);
            }
        });
        Receive<NextPick>(next =>
        {
            if (next.Server is null)
                _nextPicks.Remove(next.Upstream);
            else
                _nextPicks[next.Upstream] = next.Server;
            if (next.Confirm)
                Sender.Tell(new NextPickConfirmed(next.Upstream));
        });
        Receive<Assigned>(assigned => AnswerAsker(assigned.ConnectionId, assigned));
        Receive<NoServerAvailable>(none => AnswerAsker(none.ConnectionId, none));
        Receive<Track>(track =>
        {
            ConnectionsOf(track.Upstream)[track.ConnectionId] = new Live(track.Server, Sender);
            _asking.Remove(track.ConnectionId);
            // A balancer that did not place it, or a new incarnation that asked before it was tracked, must hear of it.
            if (_missedByResync.Remove(track.ConnectionId) | track.PickedLocally)
                balancerRegion.Tell(new LedgerReport(track.Upstream, node, [new LedgerEntry(track.ConnectionId, track.Server)]));
        });
        Receive<Untrack>(untrack =>
        {
            Forget(untrack.Upstream, untrack.ConnectionId);
            _asking.Remove(untrack.ConnectionId);
            _missedByResync.Remove(untrack.ConnectionId);
            balancerRegion.Tell(new Release(untrack.Upstream, untrack.ConnectionId));
        });
        Receive<TrackFailed>(failed =>
        {
            Forget(failed.Upstream, failed.ConnectionId);
            _missedByResync.Remove(failed.ConnectionId);
            balancerRegion.Tell(new ConnectFailed(failed.Upstream, failed.ConnectionId, failed.Server));
        });
        Receive<LedgerResyncRequest>(request =>
        {
            // A new balancer incarnation: it knows nothing of the pick an earlier one made ahead for this node.
            _nextPicks.Remove(request.Upstream);
            foreach (var (connectionId, asking) in _asking)
            {
                if (asking.Upstream == request.Upstream)
                    _missedByResync.Add(connectionId);
            }

            balancerRegion.Tell(CompleteReport(request.Upstream));
        });
        // Messages to a moving balancer can be lost; a full report now and then mends whatever was.
        Receive<Reconcile>(_ =>
        {
            foreach (var upstream in upstreams)
                balancerRegion.Tell(CompleteReport(upstream));
        });
        Receive<CloseConnections>(close =>
        {
            if (!_live.TryGetValue(close.Upstream, out var connections))
                return;
            foreach (var id in close.ConnectionIds)
            {
                if (connections.TryGetValue(id, out var live))
                    live.Connection.Tell(new CloseConnection(close.Reason));
            }
        });
        Receive<GetLiveCount>(_ => Sender.Tell(_live.Values.Sum(c => c.Count)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="upstreams">The upstreams to report on periodically.</param>
    /// <param name="reconcileEvery">How often to send complete reports; zero for never.</param>
    public static Props Props(string node, IActorRef balancerRegion, IReadOnlyList<string>? upstreams = null, TimeSpan reconcileEvery = default) =>
        Akka.Actor.Props.Create(() => new ConnectionLedger(node, balancerRegion, upstreams ?? Array.Empty<string>(), reconcileEvery));

    /// <summary>Through the region like Release: one path keeps a report and a later release in order.</summary>
    private LedgerReport CompleteReport(string upstream)
    {
        var entries = _live.TryGetValue(upstream, out var connections)
            ? connections.Select(c => new LedgerEntry(c.Key, c.Value.Server)).ToList()
            : [];
        var pending = _asking.Where(a => a.Value.Upstream == upstream).Select(a => a.Key).ToList();
        return new LedgerReport(upstream, _node, entries, Complete: true, Pending: pending);
    }

    private sealed class Reconcile
    {
        public static readonly Reconcile Instance = new();
    }

    /// <summary>The balancer's answer, with the balancer as its sender; an ask that ended meanwhile gets none.</summary>
    private void AnswerAsker(string connectionId, object answer)
    {
        if (_asking.TryGetValue(connectionId, out var asking))
            asking.Connection.Forward(answer);
    }

    private Dictionary<string, Live> ConnectionsOf(string upstream)
    {
        if (!_live.TryGetValue(upstream, out var connections))
            _live[upstream] = connections = [];
        return connections;
    }

    private void Forget(string upstream, string connectionId)
    {
        if (_live.TryGetValue(upstream, out var connections) && connections.Remove(connectionId) && connections.Count == 0)
            _live.Remove(upstream);
    }
}
