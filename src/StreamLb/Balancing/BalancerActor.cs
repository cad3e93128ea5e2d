using System.Globalization;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using StreamLb.Balancing.Membership;
using StreamLb.Configuration;
using StreamLb.Connections;

namespace StreamLb.Balancing;

/// <summary>
/// The balancer of one upstream: picks a server per connection, counts each server's active connections cluster-wide,
/// and holds the servers' state (operator mode, passive and active health). Counts live in memory only: every
/// incarnation asks the ledgers to re-report. Runtime membership lives in the replicated store and is read back at start.
/// States: Recovering (until the membership is loaded; messages wait) → Active.
/// </summary>
public sealed class BalancerActor : ReceiveActor, IWithUnboundedStash, IWithTimers
{
    // The node is kept so that the connections of a node that leaves the cluster can be dropped together.
    private readonly record struct Assignment(ServerEntry Server, string Node);

    private readonly UpstreamConfig _config;
    private readonly BalancerSettings _settings;
    private readonly ILoadBalancingPolicy _policy;
    private readonly List<ServerEntry> _servers;
    private readonly List<ServerEntry> _primaries = [];
    private readonly List<ServerEntry> _backups = [];
    private readonly List<ServerEntry> _zombies = [];
    private readonly Dictionary<string, Assignment> _assignments = [];
    private readonly NextPicks _nextPicks;
    private bool _reviewDue;

    // The answers to membership changes that wait until every node holding a pick made ahead on a server that left
    // rotation has confirmed its replacement: once the admin API has answered, no node starts a connection on a server
    // it drained, marked down or removed.
    private static readonly TimeSpan ConfirmWithin = TimeSpan.FromSeconds(2);
    private readonly List<SpecSaved> _heldChanges = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, (HealthTracker Tracker, IActorRef Probe)> _health = [];
    private IReadOnlyDictionary<string, ServerSpec> _specs = new Dictionary<string, ServerSpec>();
    private IActorRef _store = ActorRefs.Nobody;

    public BalancerActor(UpstreamConfig config, BalancerSettings settings)
    {
        _config = config;
        _settings = settings;
        _policy = LoadBalancingPolicy.Create(config, settings.RandomFactory());
        _servers = config.Servers.Select((s, i) => new ServerEntry(i, s)).ToList();
        _nextPicks = new NextPicks(config.Name, _policy, settings.NextPickReviewInterval);
        Recovering();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(UpstreamConfig config, BalancerSettings settings) =>
        Akka.Actor.Props.Create(() => new BalancerActor(config, settings));

    public static Props Props(UpstreamConfig config, ILedgerDirectory ledgers, TimeProvider time, Random random) =>
        Props(config, new BalancerSettings { Ledgers = ledgers, Time = time, RandomFactory = () => random });

    protected override void PreStart()
    {
        foreach (var ledger in _settings.Ledgers.Ledgers(Context))
            ledger.Tell(new LedgerResyncRequest(_config.Name, Self), Self);
        _store = Context.ActorOf(_settings.Membership.Props(_config.Name), "membership");
        UpdateProbes();
        Timers.StartSingleTimer(RecoveryTimeout.Instance, RecoveryTimeout.Instance, _settings.RecoveryTimeout);
        if (_settings.WatchClusterMembers)
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));
    }

    protected override void PostStop()
    {
        if (_settings.WatchClusterMembers)
            Cluster.Get(Context.System).Unsubscribe(Self);
    }

    private void Recovering()
    {
        Receive<MembershipLoaded>(loaded =>
        {
            Apply(loaded.Specs);
            BecomeActive();
        });
        Receive<RecoveryTimeout>(_ =>
        {
            _log.Warning("upstream \"{0}\": runtime membership not loaded within {1}; serving the config's servers", _config.Name, _settings.RecoveryTimeout);
            BecomeActive();
        });
        Receive<LedgerReport>(OnLedgerReport);
        ReceiveAny(_ => Stash.Stash());
    }

    private void BecomeActive()
    {
        Timers.Cancel(RecoveryTimeout.Instance);
        Become(Active);
        Stash.UnstashAll();
    }

    private void Active()
    {
        Receive<Acquire>(OnAcquire);
        Receive<NextPickTaken>(OnNextPickTaken);
        Receive<Release>(release => Unassign(release.ConnectionId));
        Receive<ConnectFailed>(OnConnectFailed);
        Receive<LedgerReport>(OnLedgerReport);
        Receive<GetUpstreamSnapshot>(_ => Sender.Tell(Snapshot()));
        Receive<MembershipLoaded>(loaded => Apply(loaded.Specs));
        Receive<AddServer>(OnAddServer);
        Receive<UpdateServer>(OnUpdateServer);
        Receive<RemoveServer>(OnRemoveServer);
        Receive<SpecSaved>(OnSpecSaved);
        Receive<NextPickConfirmed>(_ =>
        {
            if (_nextPicks.Confirmed(Sender))
                AnswerHeldChanges();
        });
        Receive<ConfirmTimeout>(_ =>
        {
            _log.Warning("upstream \"{0}\": {1} node(s) did not confirm a replaced pick made ahead within {2}; answering anyway",
                _config.Name, _nextPicks.Unconfirmed, ConfirmWithin);
            _nextPicks.ForgetUnconfirmed();
            AnswerHeldChanges();
        });
        Receive<SpecNotSaved>(failed => failed.Request.ReplyTo.Tell(new ServerChangeRejected(ServerChangeError.Unavailable, failed.Reason)));
        Receive<DrainExpired>(OnDrainExpired);
        Receive<ProbeResult>(OnProbeResult);
        Receive<ClusterEvent.MemberRemoved>(removed => DropNode(NodeNames.Of(removed.Member.UniqueAddress)));
        Receive<RecoveryTimeout>(_ => { });
        Receive<ReviewDue>(_ => _reviewDue = false); // the review follows, as after every message
    }

    /// <summary>
    /// After every message: the picks it asked to be made ahead are made, and whatever changed a count or a server's
    /// state (an ask, a release, a membership change, a health verdict) may have left another node's pick behind; one
    /// pass over the servers for both.
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        var handled = base.AroundReceive(receive, message);
        if (_nextPicks.Any)
            ReviewNextPicks();
        return handled;
    }

    private TimeProvider _time => _settings.Time;

    private void OnAcquire(Acquire acquire)
    {
        if (_assignments.TryGetValue(acquire.ConnectionId, out var known))
        {
            // The same ask again gets the same answer; an ask that says the assigned server failed races its
            // ConnectFailed (which comes through the ledger) and gets a fresh pick.
            if (!acquire.Tried.Contains(known.Server.Address))
            {
                Sender.Tell(new Assigned(acquire.ConnectionId, known.Server.Address));
                return;
            }

            Unassign(acquire.ConnectionId);
        }

        var candidates = Candidates(acquire.Tried, out var live);
        var server = _policy.Pick(new PickRequest(acquire.ConnectionId, acquire.HashKey, _servers), candidates);
        if (server is null)
        {
            var reason = live == 0
                ? $"no live upstreams in upstream \"{_config.Name}\""
                : $"all servers of upstream \"{_config.Name}\" are at max_conns";
            Sender.Tell(new NoServerAvailable(acquire.ConnectionId, reason));
            return;
        }

        Assign(acquire.ConnectionId, server, acquire.Node);
        Sender.Tell(new Assigned(acquire.ConnectionId, server.Address));
        if (!_nextPicks.Holds(acquire.Node))
            PrepareNextPick(acquire.Node, Sender);
    }

    /// <summary>
    /// The servers a new connection may go to, into lists kept for the next pick (one per connection): not down or
    /// failed, under <c>max_conns</c>, not <paramref name="tried"/>; backups only when no primary is left.
    /// <paramref name="live"/>: how many are up at all.
    /// </summary>
    private List<ServerEntry> Candidates(IReadOnlyList<string> tried, out int live)
    {
        var now = _time.GetUtcNow();
        live = 0;
        _primaries.Clear();
        _backups.Clear();
        foreach (var s in _servers)
        {
            if (s.StateAt(now) != ServerState.Up || (tried.Count > 0 && tried.Contains(s.Address)))
                continue;
            live++;
            if (!s.AtMaxConns)
                (s.Backup ? _backups : _primaries).Add(s);
        }

        return _primaries.Count > 0 ? _primaries : _backups;
    }

    private void OnNextPickTaken(NextPickTaken taken)
    {
        // Whatever this node held is gone now (a newer one, if on its way, lands before the one made here).
        _nextPicks.Taken(taken.Node);
        if (!_assignments.ContainsKey(taken.ConnectionId) && FindByAddress(taken.Server) is { } server)
            Assign(taken.ConnectionId, server, taken.Node);
        PrepareNextPick(taken.Node, Sender);
    }

    /// <summary>
    /// Has a pick made ahead for another node's next connection, sent to that node's ledger once this message is handled
    /// (<see cref="AroundReceive"/>). Not for this balancer's own node (its asks are local), not for hashing (the pick
    /// depends on the connection).
    /// </summary>
    private void PrepareNextPick(string node, IActorRef ledger)
    {
        if (_settings.Node is { } self && node != self && _policy.Name != LoadBalancingPolicies.Hash)
            _nextPicks.Want(node, ledger);
    }

    private void ReviewNextPicks()
    {
        if (_nextPicks.Review(Candidates([], out _), _servers, Self) is { } due && !_reviewDue)
        {
            _reviewDue = true;
            Timers.StartSingleTimer(ReviewDue.Instance, ReviewDue.Instance, due);
        }
    }

    private void OnConnectFailed(ConnectFailed failed)
    {
        if (_assignments.TryGetValue(failed.ConnectionId, out var assignment) && assignment.Server.Address == failed.Server)
            Unassign(failed.ConnectionId);
        if (_servers.FirstOrDefault(s => s.Address == failed.Server) is not { } server)
            return;
        var now = _time.GetUtcNow();
        server.RecordFailure(now);
        if (server.StateAt(now) == ServerState.Failed)
            _log.Warning("upstream server {0} of upstream \"{1}\" failed {2} time(s) within {3}: skipped until it expires",
                server.Address, _config.Name, server.Config.MaxFails, server.Config.FailTimeout);
    }

    private void OnLedgerReport(LedgerReport report)
    {
        if (report.Complete)
        {
            var known = report.Entries.Select(e => e.ConnectionId).Concat(report.Pending ?? []).ToHashSet();
            var stale = _assignments.Where(a => a.Value.Node == report.Node && !known.Contains(a.Key)).Select(a => a.Key).ToList();
            foreach (var connectionId in stale)
                Unassign(connectionId);
            if (stale.Count > 0)
                _log.Info("upstream \"{0}\": {1} connection(s) of {2} had ended without their release arriving", _config.Name, stale.Count, report.Node);
        }

        // The ledger is the truth: unknown connections are added, and one counted on another server is moved (a pick
        // made from a node's snapshot while this balancer was unreachable). Servers no longer in the upstream: dropped.
        foreach (var entry in report.Entries)
        {
            if (_assignments.TryGetValue(entry.ConnectionId, out var known) && known.Server.Address == entry.Server)
                continue;
            if (FindByAddress(entry.Server) is not { } server)
                continue;
            Unassign(entry.ConnectionId);
            Assign(entry.ConnectionId, server, report.Node);
        }
    }

    private void OnAddServer(AddServer add)
    {
        if (!IsAddress(add.Address))
            Reject(ServerChangeError.Invalid, $"invalid server address \"{add.Address}\": expected host:port");
        else if (add.Weight < 1 || add.MaxConns < 0)
            Reject(ServerChangeError.Invalid, "weight must be at least 1 and max_conns at least 0");
        else if (_servers.Any(s => s.Address == add.Address))
            Reject(ServerChangeError.Conflict, $"server {add.Address} already exists in upstream \"{_config.Name}\"");
        else
            Save(new ServerSpec(NextId(), add.Address, add.Weight, add.MaxConns, add.Backup, add.Mode, Removed: false), reply: null);
    }

    private void OnUpdateServer(UpdateServer update)
    {
        if (Find(update.Server) is not { } server)
            RejectUnknown(update.Server);
        else if (update.Weight is < 1)
            Reject(ServerChangeError.Invalid, "weight must be at least 1");
        else
            Save(new ServerSpec(server.Id, server.Address, update.Weight ?? server.Weight, server.Config.MaxConns, server.Backup,
                update.Mode ?? server.Mode, Removed: false), reply: null);
    }

    private void OnRemoveServer(RemoveServer remove)
    {
        if (Find(remove.Server) is not { } server)
            RejectUnknown(remove.Server);
        else
            Save(new ServerSpec(server.Id, server.Address, server.Weight, server.Config.MaxConns, server.Backup, server.Mode, Removed: true),
                reply: new ServerRemoved(server.Address));
    }

    private void OnSpecSaved(SpecSaved saved)
    {
        if (_nextPicks.Unconfirmed == 0)
        {
            Answer(saved);
            return;
        }

        _heldChanges.Add(saved);
        if (!Timers.IsTimerActive(ConfirmTimeout.Instance))
            Timers.StartSingleTimer(ConfirmTimeout.Instance, ConfirmTimeout.Instance, ConfirmWithin);
    }

    private void Answer(SpecSaved saved) => saved.Request.ReplyTo.Tell(saved.Request.Reply switch
    {
        ServerRemoved removed => removed,
        _ => _servers.FirstOrDefault(s => s.Address == saved.Request.Spec.Address) is { } server
            ? new ServerChanged(server.ToSnapshot(_time.GetUtcNow()))
            : new ServerRemoved(saved.Request.Spec.Address),
    });

    private void AnswerHeldChanges()
    {
        Timers.Cancel(ConfirmTimeout.Instance);
        foreach (var saved in _heldChanges)
            Answer(saved);
        _heldChanges.Clear();
    }

    private void Save(ServerSpec spec, object? reply) => _store.Tell(new SaveSpec(spec, Sender, reply ?? spec));

    private void Reject(ServerChangeError error, string message) => Sender.Tell(new ServerChangeRejected(error, message));

    private void RejectUnknown(string server) =>
        Reject(ServerChangeError.NotFound, $"no server \"{server}\" in upstream \"{_config.Name}\"");

    /// <summary>Lays the replicated specs over the config's servers, keeping the counts of servers that stay.</summary>
    private void Apply(IReadOnlyList<ServerSpec> specs)
    {
        _specs = specs.ToDictionary(s => s.Address);
        var desired = _config.Servers.Select((s, i) => (Id: i, Config: s)).ToList();
        foreach (var spec in specs.OrderBy(s => s.Id))
        {
            var index = desired.FindIndex(d => d.Config.Address == spec.Address);
            var config = new UpstreamServerConfig
            {
                Address = spec.Address, Weight = spec.Weight, MaxConns = spec.MaxConns, Backup = spec.Backup,
                Down = spec.Mode == ServerMode.Down,
            };
            if (index >= 0)
                desired[index] = (desired[index].Id, desired[index].Config with { Weight = spec.Weight, MaxConns = spec.MaxConns, Backup = spec.Backup });
            else
                desired.Add((spec.Id, config));
        }

        var next = new List<ServerEntry>();
        foreach (var (id, config) in desired)
        {
            if (_specs.TryGetValue(config.Address, out var spec) && spec.Removed)
                continue;
            var entry = FindByAddress(config.Address) ?? new ServerEntry(id, config);
            _zombies.Remove(entry);
            var mode = _specs.TryGetValue(config.Address, out var set) ? set.Mode : config.Down ? ServerMode.Down : ServerMode.Up;
            if (mode == ServerMode.Drain && entry.Mode != ServerMode.Drain && _settings.DrainTimeout is { } drainTimeout)
                Timers.StartSingleTimer(("drain", entry.Address), new DrainExpired(entry.Address), drainTimeout);
            entry.Apply(config.Weight, config.MaxConns, config.Backup, mode);
            next.Add(entry);
        }

        foreach (var gone in _servers.Except(next).Where(s => s.Active > 0))
            _zombies.Add(gone);
        _servers.Clear();
        _servers.AddRange(next);
        UpdateProbes();
    }

    /// <summary>
    /// One health probe per server, run by the balancer itself: wherever it lives, each backend sees one check per
    /// interval for the whole cluster rather than one per node, and a verdict takes effect on every node's picks at once.
    /// </summary>
    private void UpdateProbes()
    {
        if (_config.HealthCheck is not { } check)
            return;
        foreach (var server in _servers.Where(s => !_health.ContainsKey(s.Address)))
        {
            var probe = Context.ActorOf(HealthProbeActor.Props(server.Address, check), $"probe-{server.Id}");
            _health[server.Address] = (new HealthTracker(check.Fails, check.Passes, _time), probe);
        }

        foreach (var gone in _health.Keys.Where(a => _servers.All(s => s.Address != a)).ToList())
        {
            Context.Stop(_health[gone].Probe);
            _health.Remove(gone);
        }
    }

    private void OnDrainExpired(DrainExpired expired)
    {
        if (FindByAddress(expired.Address) is not { Mode: ServerMode.Drain } server || server.Active == 0)
            return;
        var reason = $"server {server.Address} of upstream \"{_config.Name}\" drained for {_settings.DrainTimeout}";
        _log.Info("{0}: closing its {1} remaining connection(s)", reason, server.Active);
        foreach (var byNode in server.Connections.GroupBy(id => _assignments[id].Node))
            _settings.Ledgers.LedgerOf(Context, byNode.Key).Tell(new CloseConnections(_config.Name, byNode.ToList(), reason), Self);
    }

    private void OnProbeResult(ProbeResult probe)
    {
        if (!_health.TryGetValue(probe.Address, out var health) || FindByAddress(probe.Address) is not { } server)
            return;
        var tracker = health.Tracker;
        if (tracker.Record(probe.Passed, probe.Error))
        {
            if (tracker.Healthy)
                _log.Info("upstream server {0} of upstream \"{1}\" passed its health checks: back in rotation", probe.Address, _config.Name);
            else
                _log.Warning("upstream server {0} of upstream \"{1}\" failed {2} health check(s) ({3}): out of rotation",
                    probe.Address, _config.Name, tracker.ConsecutiveFails, probe.Error);
        }

        server.Healthy = tracker.Healthy;
        server.Health = new HealthSnapshot(tracker.Healthy, tracker.Checks, tracker.ConsecutiveFails, tracker.LastChecked,
            tracker.ConsecutiveFails > 0 ? tracker.LastError : null);
    }

    private void DropNode(string node)
    {
        if (_nextPicks.Drop(node))
            AnswerHeldChanges();
        var dropped = _assignments.Where(a => a.Value.Node == node).Select(a => a.Key).ToList();
        foreach (var connectionId in dropped)
            Unassign(connectionId);
        if (dropped.Count > 0)
            _log.Info("upstream \"{0}\": node {1} left the cluster; dropped its {2} connection(s)", _config.Name, node, dropped.Count);
    }

    private void Assign(string connectionId, ServerEntry server, string node)
    {
        server.Add(connectionId);
        _assignments[connectionId] = new Assignment(server, node);
    }

    private void Unassign(string connectionId)
    {
        if (!_assignments.Remove(connectionId, out var assignment))
            return;
        assignment.Server.Remove(connectionId);
        if (assignment.Server.Active == 0)
            _zombies.Remove(assignment.Server);
    }

    private ServerEntry? FindByAddress(string address) =>
        _servers.FirstOrDefault(s => s.Address == address) ?? _zombies.FirstOrDefault(s => s.Address == address);

    /// <summary>A server by id or by address.</summary>
    private ServerEntry? Find(string server) =>
        int.TryParse(server, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? _servers.FirstOrDefault(s => s.Id == id)
            : _servers.FirstOrDefault(s => s.Address == server);

    private int NextId() => _servers.Concat(_zombies).Select(s => s.Id).Concat(_specs.Values.Select(s => s.Id)).DefaultIfEmpty(-1).Max() + 1;

    private static bool IsAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0
               && int.TryParse(address[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
               && address[..colon].Trim('[', ']') is { Length: > 0 } host && !host.Any(char.IsWhiteSpace);
    }

    private UpstreamSnapshot Snapshot()
    {
        var now = _time.GetUtcNow();
        return new UpstreamSnapshot(_config.Name, _policy.Name, _servers.Select(s => s.ToSnapshot(now)).ToList(), _zombies.Sum(z => z.Active));
    }

    private sealed record DrainExpired(string Address);

    private sealed class ConfirmTimeout
    {
        public static readonly ConfirmTimeout Instance = new();
    }

    private sealed class ReviewDue
    {
        public static readonly ReviewDue Instance = new();
    }

    private sealed class RecoveryTimeout
    {
        public static readonly RecoveryTimeout Instance = new();
    }
}
