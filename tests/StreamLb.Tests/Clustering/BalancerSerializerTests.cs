using Akka.Actor;
using StreamLb.Balancing;
using StreamLb.Clustering;
using Xunit;

namespace StreamLb.Tests.Clustering;

/// <summary>The balancer's messages as a clustered node's serialization finds and round-trips them.</summary>
public sealed class BalancerSerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serializer",
        ClusterBootstrap.ConfigFor(new ClusterOptions { Host = "127.0.0.1", Port = 0 }, "akka.loglevel = WARNING"));

    public static TheoryData<object> Messages() =>
    [
        new Acquire("backend", "node-1#42", "node-1", null, []),
        new Acquire("backend", "node-1#43", "node-1", "10.0.0.7", ["127.0.0.1:8081", "127.0.0.1:8082"]),
        new Assigned("node-1#42", "127.0.0.1:8081"),
        new NoServerAvailable("node-1#42", "no live upstreams in upstream \"backend\" — ünïcode"),
        new Release("backend", "node-1#42"),
        new NextPick("backend", "127.0.0.1:8082"),
        new NextPick("backend", null, Confirm: true),
        new NextPickConfirmed("backend"),
        new NextPickTaken("backend", "node-1#44", "node-1", "127.0.0.1:8082"),
        new ConnectFailed("backend", "node-1#42", "127.0.0.1:8081"),
        new LedgerReport("backend", "node-1", [new LedgerEntry("node-1#42", "127.0.0.1:8081"), new LedgerEntry("node-1#43", "127.0.0.1:8082")]),
        new LedgerReport("backend", "node-1", [], Complete: true, Pending: ["node-1#44"]),
        new GetUpstreamSnapshot("backend"),
        new UpstreamSnapshot("backend", "least_conn",
        [
            new ServerSnapshot(0, "127.0.0.1:8081", 1, 7, ServerState.Up, Backup: false, MaxConns: 0),
            new ServerSnapshot(3, "127.0.0.1:8082", 5, 0, ServerState.Unhealthy, Backup: true, MaxConns: 100,
                new HealthSnapshot(false, 1234567890123, 3, new DateTimeOffset(2026, 11, 29, 7, 30, 15, 123, TimeSpan.FromHours(2)), "connection refused")),
            new ServerSnapshot(4, "127.0.0.1:8083", 1, 2, ServerState.Draining, Backup: false, MaxConns: 0,
                new HealthSnapshot(true, 0, 0, null, null)),
        ], Zombies: 2),
    ];

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_balancer_message_round_trips_through_the_compact_serializer(object message)
    {
        var serializer = _system.Serialization.FindSerializerFor(message);
        Assert.IsType<BalancerSerializer>(serializer);

        var bytes = serializer.ToBinary(message);
        var back = _system.Serialization.Deserialize(bytes, serializer.Identifier, ((BalancerSerializer)serializer).Manifest(message));

        Assert.Equal(Describe(message), Describe(back));
        var json = new Akka.Serialization.NewtonSoftJsonSerializer((ExtendedActorSystem)_system).ToBinary(message);
        Assert.True(bytes.Length * 2 < json.Length, $"{bytes.Length} bytes against {json.Length} as JSON");
    }

    [Fact]
    public void An_unknown_manifest_is_refused_with_its_name()
    {
        var serializer = (BalancerSerializer)_system.Serialization.FindSerializerForType(typeof(Assigned));
        var error = Assert.ThrowsAny<Exception>(() => serializer.FromBinary([], "Q"));
        Assert.Contains("\"Q\"", error.Message);
    }

    // Records compare lists by reference: compare what they print, with the lists spelled out.
    private static string Describe(object message) => message switch
    {
        Acquire a => $"{a.GetType().Name} {a.Upstream} {a.ConnectionId} {a.Node} {a.HashKey ?? "(none)"} [{string.Join(",", a.Tried)}]",
        LedgerReport r => $"{r} complete={r.Complete} pending={(r.Pending is null ? "(none)" : string.Join(",", r.Pending))}",
        UpstreamSnapshot u => $"{u.Upstream} {u.Policy} zombies={u.Zombies} " +
                              string.Join("; ", u.Servers.Select(s => $"{s} backup={s.Backup} max_conns={s.MaxConns} {s.Health}")),
        _ => $"{message.GetType().Name} {message}",
    };

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(30));
}
