using Akka.Actor;
using StreamLb.Configuration;

namespace StreamLb.Balancing;

/// <summary>
/// A node's stand-in for an unreachable balancer (moving, or its node lost): it keeps the last snapshot of every
/// upstream, refreshed in the background, and answers an <see cref="Acquire"/> from it with weighted least
/// connections, counting its own picks until the next snapshot. Connections it places are reported to the balancer
/// through the ledger, which corrects the counts once the balancer answers again.
/// </summary>
public sealed class FallbackPicker : ReceiveActor, IWithTimers
{
    private readonly Dictionary<string, UpstreamSnapshot> _snapshots = [];
    private readonly Dictionary<string, Dictionary<string, int>> _picked = [];

    public FallbackPicker(IActorRef balancers, IReadOnlyList<UpstreamConfig> upstreams, TimeSpan refresh)
    {
        // Until a balancer has answered once, the config's servers with no connections stand in for its snapshot.
        foreach (var upstream in upstreams)
        {
            _snapshots[upstream.Name] = new UpstreamSnapshot(upstream.Name, upstream.Policy, upstream.Servers
                .Select((s, i) => new ServerSnapshot(i, s.Address, s.Weight, 0, s.Down ? ServerState.Down : ServerState.Up, s.Backup, s.MaxConns))
                .ToList());
        }

        // Asked as this actor, not with an Ask: a balancer on another node then answers one long-lived actor instead of
        // a new temporary one every time (each a new remote actor ref for it to resolve). An answer that does not come
        // leaves the last snapshot in place until the next refresh.
        Receive<Refresh>(_ =>
        {
            foreach (var upstream in upstreams)
                balancers.Tell(new GetUpstreamSnapshot(upstream.Name));
        });
        Receive<UpstreamSnapshot>(snapshot =>
        {
            _snapshots[snapshot.Upstream] = snapshot;
            _picked.Remove(snapshot.Upstream);
        });
        Receive<Acquire>(acquire => Sender.Tell(Pick(acquire)));
        Self.Tell(Refresh.Instance);
        Timers.StartPeriodicTimer(Refresh.Instance, Refresh.Instance, refresh);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef balancers, IReadOnlyList<UpstreamConfig> upstreams, TimeSpan refresh) =>
        Akka.Actor.Props.Create(() => new FallbackPicker(balancers, upstreams, refresh));

    private object Pick(Acquire acquire)
    {
        if (!_snapshots.TryGetValue(acquire.Upstream, out var snapshot))
            return new NoServerAvailable(acquire.ConnectionId, $"unknown upstream \"{acquire.Upstream}\"");
        var picked = _picked.TryGetValue(acquire.Upstream, out var known) ? known : _picked[acquire.Upstream] = [];
        int Active(ServerSnapshot s) => s.Active + picked.GetValueOrDefault(s.Address);
        var open = snapshot.Servers
            .Where(s => s.State == ServerState.Up && !acquire.Tried.Contains(s.Address) && (s.MaxConns == 0 || Active(s) < s.MaxConns))
            .ToList();
        var candidates = open.Any(s => !s.Backup) ? open.Where(s => !s.Backup) : open;
        var server = candidates.OrderBy(s => (double)Active(s) / s.Weight).FirstOrDefault();
        if (server is null)
            return new NoServerAvailable(acquire.ConnectionId, $"no live upstreams in upstream \"{acquire.Upstream}\" (last snapshot)");
        picked[server.Address] = picked.GetValueOrDefault(server.Address) + 1;
        return new Assigned(acquire.ConnectionId, server.Address);
    }

    private sealed class Refresh
    {
        public static readonly Refresh Instance = new();
    }
}
