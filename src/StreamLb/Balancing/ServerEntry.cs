using StreamLb.Configuration;

namespace StreamLb.Balancing;

/// <summary>
/// One server of an upstream as its balancer tracks it: configuration, the connections counted against it and the
/// recent connect failures (passive health). Mutated only by the balancer that owns it.
/// </summary>
public sealed class ServerEntry
{
    private readonly HashSet<string> _connections = [];
    private readonly Queue<DateTimeOffset> _failures = new();

    public ServerEntry(UpstreamServerConfig config) => Config = config;

    public UpstreamServerConfig Config { get; }

    public string Address => Config.Address;

    public int Weight => Config.Weight;

    public bool Backup => Config.Backup;

    public int Active => _connections.Count;

    public bool AtMaxConns => Config.MaxConns > 0 && Active >= Config.MaxConns;

    public ServerState StateAt(DateTimeOffset now)
    {
        if (Config.Down)
            return ServerState.Down;
        var failed = Config.MaxFails > 0 && _failures.Count >= Config.MaxFails && now < _failures.Last() + Config.FailTimeout;
        return failed ? ServerState.Failed : ServerState.Up;
    }

    /// <summary>Compares active connections per unit of weight; negative when this server is the less loaded.</summary>
    public int CompareLoad(ServerEntry other) =>
        ((long)Active * other.Weight).CompareTo((long)other.Active * Weight);

    public ServerSnapshot ToSnapshot(DateTimeOffset now) =>
        new(Address, Weight, Active, StateAt(now), Backup, Config.MaxConns);

    public override string ToString() => $"{Address} (weight={Weight}, active={Active})";

    internal bool Add(string connectionId) => _connections.Add(connectionId);

    internal bool Remove(string connectionId) => _connections.Remove(connectionId);

    internal void RecordFailure(DateTimeOffset now)
    {
        // Only failures within fail_timeout of the newest one count towards max_fails.
        while (_failures.Count > 0 && _failures.Peek() <= now - Config.FailTimeout)
            _failures.Dequeue();
        _failures.Enqueue(now);
    }
}
