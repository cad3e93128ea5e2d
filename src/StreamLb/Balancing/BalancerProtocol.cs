using Akka.Actor;

namespace StreamLb.Balancing;

// The balancer protocol. The single-node balancer and the cluster-sharded one speak exactly these messages; every
// message to a balancer names its upstream, which is the entity id when the balancer is sharded.

/// <summary>A message addressed to the balancer of one upstream.</summary>
public interface IBalancerMessage
{
    string Upstream { get; }
}

/// <summary>
/// Asks for a server for a new connection. Idempotent by <see cref="ConnectionId"/>: asking again returns the same
/// assignment. <see cref="Tried"/> lists servers that already failed for this connection (next upstream).
/// Answered with <see cref="Assigned"/> or <see cref="NoServerAvailable"/>.
/// </summary>
public sealed record Acquire(string Upstream, string ConnectionId, string Node, string? HashKey, IReadOnlyList<string> Tried)
    : IBalancerMessage
{
    public override string ToString() => $"Acquire({Upstream}, {ConnectionId}, tried=[{string.Join(",", Tried)}])";
}

/// <summary>The server (<c>host:port</c>) the connection is counted against until it is released.</summary>
public sealed record Assigned(string ConnectionId, string Server);

/// <summary>No server can take the connection; <see cref="Reason"/> says why, for the log.</summary>
public sealed record NoServerAvailable(string ConnectionId, string Reason);

/// <summary>
/// Sent by a balancer to the ledger of another node: the server that node's next connection of the upstream takes
/// without asking (<see cref="NextPickTaken"/> tells the balancer), so a pick across the cluster costs no round trip.
/// It is the balancer's own pick made ahead: a newer one replaces it, and null withdraws it (the server left
/// rotation, or it fell behind the least loaded by more than one connection). <paramref name="Confirm"/>: answer with
/// <see cref="NextPickConfirmed"/> (the server left rotation, and a membership change waits to be answered).
/// </summary>
public sealed record NextPick(string Upstream, string? Server, bool Confirm = false);

/// <summary>A ledger holds the <see cref="NextPick"/> that asked for confirmation.</summary>
public sealed record NextPickConfirmed(string Upstream);

/// <summary>
/// A node placed <see cref="ConnectionId"/> on the <see cref="NextPick"/> it held: the balancer counts it against
/// <see cref="Server"/> and makes that node's next pick.
/// </summary>
public sealed record NextPickTaken(string Upstream, string ConnectionId, string Node, string Server) : IBalancerMessage;

/// <summary>The connection ended: its server's count goes down. Unknown ids are ignored.</summary>
public sealed record Release(string Upstream, string ConnectionId) : IBalancerMessage;

/// <summary>
/// Connecting to the assigned server failed: the assignment is released and the failure counts towards the
/// server's <c>max_fails</c> (passive health).
/// </summary>
public sealed record ConnectFailed(string Upstream, string ConnectionId, string Server) : IBalancerMessage;

/// <summary>Sent by a (new) balancer incarnation to every node's ledger: report your live connections of this upstream.</summary>
public sealed record LedgerResyncRequest(string Upstream, IActorRef Balancer);

/// <summary>One live connection as a node's ledger knows it.</summary>
public sealed record LedgerEntry(string ConnectionId, string Server);

/// <summary>
/// What a node's ledger knows of an upstream. A <paramref name="Complete"/> report (the answer to
/// <see cref="LedgerResyncRequest"/>, and the periodic one) lists all its live connections and the asks still on their
/// way (<paramref name="Pending"/>): the balancer then also forgets that node's connections missing from it, which
/// mends releases lost while the balancer moved. A partial report only adds or moves the entries it lists.
/// </summary>
public sealed record LedgerReport(string Upstream, string Node, IReadOnlyList<LedgerEntry> Entries, bool Complete = false, IReadOnlyList<string>? Pending = null)
    : IBalancerMessage
{
    public override string ToString() => $"LedgerReport({Upstream}, {Node}, [{string.Join(", ", Entries.Select(e => $"{e.ConnectionId}@{e.Server}"))}])";
}

/// <summary>Asks for the balancer's current picture of its upstream; answered with <see cref="UpstreamSnapshot"/>.</summary>
public sealed record GetUpstreamSnapshot(string Upstream) : IBalancerMessage;

/// <summary>A server's state as the balancer sees it.</summary>
public enum ServerState
{
    Up,
    /// <summary>Marked down by config or the admin API: no new connections.</summary>
    Down,
    /// <summary>Draining: no new connections; established ones go on until they end or the drain timeout passes.</summary>
    Draining,
    /// <summary>Passive health: <c>max_fails</c> failures within <c>fail_timeout</c>; skipped until it expires.</summary>
    Failed,
    /// <summary>Active health checks fail: out of rotation until enough checks pass.</summary>
    Unhealthy,
}

/// <summary>The state an operator asks for; health and failures come on top.</summary>
public enum ServerMode
{
    Up,
    Drain,
    Down,
}

/// <summary>The last active health checks of a server, when checks are configured.</summary>
public sealed record HealthSnapshot(bool Healthy, long Checks, int Fails, DateTimeOffset? LastChecked, string? LastError);

public sealed record ServerSnapshot(int Id, string Address, int Weight, int Active, ServerState State, bool Backup, int MaxConns, HealthSnapshot? Health = null)
{
    public override string ToString() => $"{Address}(#{Id} {State}, active={Active}, weight={Weight})";
}

/// <param name="Zombies">Connections still open on servers that were removed at runtime.</param>
public sealed record UpstreamSnapshot(string Upstream, string Policy, IReadOnlyList<ServerSnapshot> Servers, int Zombies = 0)
{
    public int TotalActive => Servers.Sum(s => s.Active) + Zombies;

    public override string ToString() => $"{Upstream}[{string.Join(", ", Servers)}]";
}

// Runtime membership (the admin API). Changes are replicated before they are answered, so they survive the
// balancer moving and the loss of a node. A server is named by its id or by its address.

/// <summary>Adds a server; answered with <see cref="ServerChanged"/> or <see cref="ServerChangeRejected"/>.</summary>
public sealed record AddServer(string Upstream, string Address, int Weight = 1, int MaxConns = 0, bool Backup = false, ServerMode Mode = ServerMode.Up)
    : IBalancerMessage;

/// <summary>Changes a server's mode and/or weight; answered like <see cref="AddServer"/>.</summary>
public sealed record UpdateServer(string Upstream, string Server, ServerMode? Mode = null, int? Weight = null) : IBalancerMessage;

/// <summary>Removes a server; its open connections go on (as zombies) until they end. Answered with <see cref="ServerRemoved"/>.</summary>
public sealed record RemoveServer(string Upstream, string Server) : IBalancerMessage;

public sealed record ServerChanged(ServerSnapshot Server);

public sealed record ServerRemoved(string Address);

public enum ServerChangeError
{
    NotFound,
    Conflict,
    Invalid,
    /// <summary>The change could not be replicated to a majority of the nodes in time.</summary>
    Unavailable,
}

public sealed record ServerChangeRejected(ServerChangeError Error, string Message);

/// <summary>Sent by a balancer to a node's ledger: close these connections (drain timeout passed).</summary>
public sealed record CloseConnections(string Upstream, IReadOnlyList<string> ConnectionIds, string Reason);
