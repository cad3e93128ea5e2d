namespace StreamLb.Balancing;

/// <summary>What a policy may look at besides the candidates.</summary>
/// <param name="ConnectionId">The connection being placed.</param>
/// <param name="HashKey">The <c>hash</c> key already expanded for this connection (e.g. the client address), or null.</param>
/// <param name="Servers">Every server of the upstream, available or not: hashing keeps its mapping stable over them.</param>
public sealed record PickRequest(string ConnectionId, string? HashKey, IReadOnlyList<ServerEntry> Servers)
{
    // A connection without a key still gets a stable server, and such connections spread instead of piling up.
    internal string KeyToHash => HashKey ?? ConnectionId;
}
