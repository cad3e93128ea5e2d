using Akka.Actor;
using BenchmarkDotNet.Attributes;
using StreamLb.Balancing;
using StreamLb.Configuration;
using StreamLb.Connections;

namespace StreamLb.Micro;

/// <summary>
/// Server picks: an Acquire answered by a local <see cref="BalancerActor"/> plus the Release that follows it (the
/// next Acquire queues behind that Release), and the policy's <c>Pick</c> alone.
/// </summary>
[MemoryDiagnoser]
public class BalancerPickBenchmarks
{
    private const string Upstream = "backend";

    private ActorSystem _system = null!;
    private IActorRef _balancer = ActorRefs.Nobody;
    private ILoadBalancingPolicy _policy = null!;
    private PickRequest _request = null!;
    private List<ServerEntry> _candidates = [];
    private string[] _connectionIds = [];
    private int _next;

    [Params(2, 16)]
    public int Servers { get; set; }

    [Params(LoadBalancingPolicies.LeastConn, LoadBalancingPolicies.RoundRobin)]
    public string Policy { get; set; } = LoadBalancingPolicies.LeastConn;

    [GlobalSetup]
    public void Setup()
    {
        var config = new UpstreamConfig
        {
            Name = Upstream,
            Policy = Policy,
            Servers = Enumerable.Range(0, Servers).Select(i => new UpstreamServerConfig { Address = $"10.0.0.{i + 1}:8080" }).ToList(),
        };
        _system = ActorSystem.Create("balancer-micro", "akka.loglevel = WARNING");
        _balancer = _system.ActorOf(BalancerActor.Props(config, new BalancerSettings
        {
            Ledgers = new NoLedgers(),
            RandomFactory = () => new Random(1),
        }), "balancer");
        // The balancer serves picks once its membership is loaded: wait for its first answer.
        _balancer.Ask<UpstreamSnapshot>(new GetUpstreamSnapshot(Upstream), TimeSpan.FromSeconds(10)).Wait();

        _policy = LoadBalancingPolicy.Create(config, new Random(1));
        _candidates = config.Servers.Select((s, i) => new ServerEntry(i, s)).ToList();
        _request = new PickRequest("c-1", null, _candidates);
        // Ids are made up front so that the round trip does not count formatting them.
        _connectionIds = Enumerable.Range(0, 1 << 16).Select(i => $"c-{i}").ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Benchmark]
    public async Task<object> AcquireRelease()
    {
        var id = _connectionIds[_next++ & (_connectionIds.Length - 1)];
        var answer = await _balancer.Ask<object>(new Acquire(Upstream, id, "node-a", null, []), TimeSpan.FromSeconds(5));
        if (answer is not Assigned)
            throw new InvalidOperationException($"no server assigned: {answer}");
        _balancer.Tell(new Release(Upstream, id));
        return answer;
    }

    [Benchmark]
    public ServerEntry? PolicyPick() => _policy.Pick(_request, _candidates);

    private sealed class NoLedgers : ILedgerDirectory
    {
        public IReadOnlyList<ICanTell> Ledgers(IActorContext context) => [];

        public ICanTell LedgerOf(IActorContext context, string node) => ActorRefs.Nobody;
    }
}
