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

/// <summary>A ledger's answer to <see cref="LedgerResyncRequest"/>: all its live connections of the upstream.</summary>
public sealed record LedgerReport(string Upstream, string Node, IReadOnlyList<LedgerEntry> Entries) : IBalancerMessage
{
    public override string ToString() => $"LedgerReport({Upstream}, {Node}, [{string.Join(", ", Entries.Select(e => $"{e.ConnectionId}@{e.Server}"))}])";
}

/// <summary>Asks for the balancer's current picture of its upstream; answered with <see cref="UpstreamSnapshot"/>.</summary>
public sealed record GetUpstreamSnapshot(string Upstream) : IBalancerMessage;

/// <summary>A server's state as the balancer sees it.</summary>
public enum ServerState
{
    Up,
    Down,
    /// <summary>Passive health: <c>max_fails</c> failures within <c>fail_timeout</c>; skipped until it expires.</summary>
    Failed,
}

public sealed record ServerSnapshot(string Address, int Weight, int Active, ServerState State, bool Backup, int MaxConns)
{
    public override string ToString() => $"{Address}(weight={Weight}, active={Active}, {State}{(Backup ? ", backup" : "")}, max_conns={MaxConns})";
}

public sealed record UpstreamSnapshot(string Upstream, string Policy, IReadOnlyList<ServerSnapshot> Servers)
{
    public int TotalActive => Servers.Sum(s => s.Active);

    public override string ToString() => $"UpstreamSnapshot({Upstream}, {Policy}, [{string.Join(", ", Servers)}])";
}
