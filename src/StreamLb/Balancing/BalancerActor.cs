using Akka.Actor;
using Akka.Event;
using StreamLb.Configuration;
using StreamLb.Connections;

namespace StreamLb.Balancing;

/// <summary>
/// The balancer of one upstream: picks a server per connection and counts each server's active connections and
/// connect failures. The counts live in memory only; every incarnation starts by asking the ledgers to re-report.
/// </summary>
public sealed class BalancerActor : ReceiveActor
{
    // The node is kept so that the connections of a node that leaves the cluster can be dropped together.
    private readonly record struct Assignment(ServerEntry Server, string Node);

    private readonly UpstreamConfig _config;
    private readonly ILedgerDirectory _ledgers;
    private readonly TimeProvider _time;
    private readonly ILoadBalancingPolicy _policy;
    private readonly IReadOnlyList<ServerEntry> _servers;
    private readonly Dictionary<string, Assignment> _assignments = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public BalancerActor(UpstreamConfig config, ILedgerDirectory ledgers, TimeProvider time, Random random)
    {
        _config = config;
        _ledgers = ledgers;
        _time = time;
        _policy = LoadBalancingPolicy.Create(config, random);
        _servers = config.Servers.Select(s => new ServerEntry(s)).ToList();

        Receive<Acquire>(OnAcquire);
        Receive<Release>(release => Unassign(release.ConnectionId));
        Receive<ConnectFailed>(OnConnectFailed);
        Receive<LedgerReport>(OnLedgerReport);
        Receive<GetUpstreamSnapshot>(_ => Sender.Tell(Snapshot()));
    }

    public static Props Props(UpstreamConfig config, ILedgerDirectory ledgers, TimeProvider time, Random random) =>
        Akka.Actor.Props.Create(() => new BalancerActor(config, ledgers, time, random));

    protected override void PreStart()
    {
        foreach (var ledger in _ledgers.Ledgers(Context))
            ledger.Tell(new LedgerResyncRequest(_config.Name, Self), Self);
    }

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

        var now = _time.GetUtcNow();
        var live = _servers.Where(s => s.StateAt(now) == ServerState.Up && !acquire.Tried.Contains(s.Address)).ToList();
        var open = live.Where(s => !s.AtMaxConns).ToList();
        var primaries = open.Where(s => !s.Backup).ToList();
        var candidates = primaries.Count > 0 ? primaries : open.Where(s => s.Backup).ToList();
        var server = _policy.Pick(new PickRequest(acquire.ConnectionId, acquire.HashKey, _servers), candidates);
        if (server is null)
        {
            var reason = live.Count == 0
                ? $"no live upstreams in upstream \"{_config.Name}\""
                : $"all servers of upstream \"{_config.Name}\" are at max_conns";
            Sender.Tell(new NoServerAvailable(acquire.ConnectionId, reason));
            return;
        }
        Assign(acquire.ConnectionId, server, acquire.Node);
        Sender.Tell(new Assigned(acquire.ConnectionId, server.Address));
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
            _log.Warning("Upstream server {0} of upstream \"{1}\" failed {2} time(s) within {3}: skipped until it expires",
                server.Address, _config.Name, server.Config.MaxFails, server.Config.FailTimeout);
    }

    private void OnLedgerReport(LedgerReport report)
    {
        // Idempotent: a connection already counted stays as it is; servers no longer in the upstream are dropped.
        foreach (var entry in report.Entries)
        {
            if (!_assignments.ContainsKey(entry.ConnectionId) && _servers.FirstOrDefault(s => s.Address == entry.Server) is { } server)
                Assign(entry.ConnectionId, server, report.Node);
        }
    }

    private void Assign(string connectionId, ServerEntry server, string node)
    {
        server.Add(connectionId);
        _assignments[connectionId] = new Assignment(server, node);
    }

    private void Unassign(string connectionId)
    {
        if (_assignments.Remove(connectionId, out var assignment))
            assignment.Server.Remove(connectionId);
    }

    private UpstreamSnapshot Snapshot()
    {
        var now = _time.GetUtcNow();
        return new UpstreamSnapshot(_config.Name, _policy.Name, _servers.Select(s => s.ToSnapshot(now)).ToList());
    }
}
