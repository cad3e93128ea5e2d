using System.Diagnostics;
using Akka.Actor;

namespace StreamLb.Balancing;

/// <summary>
/// The picks a balancer has made ahead for the other nodes of the cluster (<see cref="NextPick"/>), one per node, and
/// which nodes are yet to confirm a replacement. Owned by the balancer and used from its thread only; it sends the
/// picks itself, as the balancer.
/// </summary>
internal sealed class NextPicks(string upstream, ILoadBalancingPolicy policy, TimeSpan reviewInterval)
{
    // The pick a node's ledger holds, and when it was sent (Stopwatch ticks).
    private readonly record struct Held(ServerEntry Server, IActorRef Ledger, long SentAt);

    private readonly Dictionary<string, Held> _held = [];
    private readonly Dictionary<string, IActorRef> _wanted = [];
    private readonly List<(string Node, bool LeftRotation)> _toRedo = [];
    private readonly HashSet<IActorRef> _unconfirmed = [];
    private readonly bool _byLoad = policy.Name is LoadBalancingPolicies.LeastConn or LoadBalancingPolicies.RandomTwoLeastConn;

    public bool Any => _held.Count > 0 || _wanted.Count > 0;

    public int Unconfirmed => _unconfirmed.Count;

    public bool Holds(string node) => _held.ContainsKey(node);

    /// <summary>
    /// <paramref name="node"/> is to get its next pick, sent to <paramref name="ledger"/>: made at the next
    /// <see cref="Review"/>, with the candidates it works out anyway.
    /// </summary>
    public void Want(string node, IActorRef ledger) => _wanted[node] = ledger;

    /// <summary>The node's ledger sent its pick to a connection: it holds none now.</summary>
    public void Taken(string node) => _held.Remove(node);

    /// <summary>
    /// Makes the picks wanted (none when there is no candidate, or when a server of the upstream has <c>max_conns</c>:
    /// picks held on several nodes could pass it together). Then replaces (or withdraws) every pick that would no
    /// longer be made: at once, asking for confirmation, when its server left rotation; for the policies that count
    /// connections, also when it has fallen behind a candidate by more than one connection per weight, but then at most
    /// once per review interval for each node, so that counts moving back and forth under load do not keep idle nodes
    /// busy. Returns how long until a held-back replacement is due, if one is.
    /// </summary>
    public TimeSpan? Review(List<ServerEntry> candidates, List<ServerEntry> servers, IActorRef self)
    {
        var anyMaxConns = servers.Exists(s => s.Config.MaxConns > 0);
        foreach (var (node, ledger) in _wanted)
        {
            if (PickFrom(candidates, servers, anyMaxConns) is not { } server)
                continue;
            _held[node] = new Held(server, ledger, Stopwatch.GetTimestamp());
            ledger.Tell(new NextPick(upstream, server.Address), self);
        }

        _wanted.Clear();
        TimeSpan? soonest = null;
        _toRedo.Clear();
        foreach (var (node, held) in _held)
        {
            if (anyMaxConns || !candidates.Contains(held.Server))
            {
                _toRedo.Add((node, true));
            }
            else if (_byLoad && FartherThanOneBehind(held.Server, candidates))
            {
                var wait = reviewInterval - Stopwatch.GetElapsedTime(held.SentAt);
                if (wait <= TimeSpan.Zero)
                    _toRedo.Add((node, false));
                else if (soonest is null || wait < soonest)
                    soonest = wait;
            }
        }

        foreach (var (node, leftRotation) in _toRedo)
        {
            var ledger = _held[node].Ledger;
            var server = PickFrom(candidates, servers, anyMaxConns);
            if (server is null)
                _held.Remove(node);
            else
                _held[node] = new Held(server, ledger, Stopwatch.GetTimestamp());
            ledger.Tell(new NextPick(upstream, server?.Address, Confirm: leftRotation), self);
            if (leftRotation)
                _unconfirmed.Add(ledger);
        }

        return soonest;
    }

    /// <summary>A ledger confirmed its replacement; true when it was the last one awaited.</summary>
    public bool Confirmed(IActorRef ledger) => _unconfirmed.Remove(ledger) && _unconfirmed.Count == 0;

    /// <summary>The node left the cluster; true when its ledger was the last one awaited.</summary>
    public bool Drop(string node)
    {
        _wanted.Remove(node);
        return _held.Remove(node, out var held) && Confirmed(held.Ledger);
    }

    /// <summary>Stops waiting for confirmations (they did not come in time).</summary>
    public void ForgetUnconfirmed() => _unconfirmed.Clear();

    private ServerEntry? PickFrom(List<ServerEntry> candidates, List<ServerEntry> servers, bool anyMaxConns) =>
        candidates.Count == 0 || anyMaxConns
            ? null
            : policy.Pick(new PickRequest("next", null, servers), candidates);

    /// <summary>True when <paramref name="server"/> has more connections per weight than one of the others would with one more.</summary>
    private static bool FartherThanOneBehind(ServerEntry server, List<ServerEntry> others)
    {
        foreach (var other in others)
        {
            if ((long)server.Active * other.Weight > (long)(other.Active + 1) * server.Weight)
                return true;
        }

        return false;
    }
}
