using StreamLb.Configuration;

namespace StreamLb.Balancing;

/// <summary>
/// One server of an upstream as its balancer tracks it: configuration, operator mode, the connections counted
/// against it, recent connect failures (passive health) and active health. Mutated only by the balancer that owns it.
/// </summary>
public sealed class ServerEntry
{
    private readonly HashSet<string> _connections = [];
    private readonly Queue<DateTimeOffset> _failures = new();

    public ServerEntry(int id, UpstreamServerConfig config)
    {
        Id = id;
        Config = config;
        Mode = config.Down ? ServerMode.Down : ServerMode.Up;
    }

    /// <summary>Stable within the upstream: config servers by position, runtime ones from the replicated spec.</summary>
    public int Id { get; }

    public UpstreamServerConfig Config { get; private set; }

    public ServerMode Mode { get; private set; }

    /// <summary>False while active health checks say the server is down; always true without checks.</summary>
    public bool Healthy { get; internal set; } = true;

    public HealthSnapshot? Health { get; internal set; }

    public string Address => Config.Address;

    public int Weight => Config.Weight;

    public bool Backup => Config.Backup;

    public int Active => _connections.Count;

    public IReadOnlyCollection<string> Connections => _connections;

    public bool AtMaxConns => Config.MaxConns > 0 && Active >= Config.MaxConns;

    public ServerState StateAt(DateTimeOffset now)
    {
        if (Mode == ServerMode.Down)
            return ServerState.Down;
        if (Mode == ServerMode.Drain)
            return ServerState.Draining;
        if (!Healthy)
            return ServerState.Unhealthy;
        var failed = Config.MaxFails > 0 && _failures.Count >= Config.MaxFails && now < _failures.Last() + Config.FailTimeout;
        return failed ? ServerState.Failed : ServerState.Up;
    }

    /// <summary>Compares active connections per unit of weight; negative when this server is the less loaded.</summary>
    public int CompareLoad(ServerEntry other) =>
        ((long)Active * other.Weight).CompareTo((long)other.Active * Weight);

    public ServerSnapshot ToSnapshot(DateTimeOffset now) =>
        new(Id, Address, Weight, Active, StateAt(now), Backup, Config.MaxConns, Health);

    public override string ToString() => $"{Address} (weight={Weight}, active={Active})";

    internal void Apply(int weight, int maxConns, bool backup, ServerMode mode)
    {
        Config = Config with { Weight = weight, MaxConns = maxConns, Backup = backup };
        Mode = mode;
    }

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
