using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

public sealed class BalancerActorSpecs : TestKit
{
    private readonly ManualTimeProvider _time = new();

    private static UpstreamServerConfig Server(string address, int maxConns = 0, int maxFails = 1, int failTimeoutSeconds = 10, bool backup = false, bool down = false) =>
        new() { Address = address, MaxConns = maxConns, MaxFails = maxFails, FailTimeout = TimeSpan.FromSeconds(failTimeoutSeconds), Backup = backup, Down = down };

    private IActorRef Balancer(params UpstreamServerConfig[] servers) =>
        Sys.ActorOf(BalancerActor.Props(
            new UpstreamConfig { Name = "backend", Servers = servers, Policy = LoadBalancingPolicies.LeastConn },
            new FixedLedgerDirectory(), _time, new Random(7)));

    private object Acquire(IActorRef balancer, string connectionId, params string[] tried)
    {
        balancer.Tell(new Acquire("backend", connectionId, "node-a", null, tried));
        return ExpectMsg<object>(m => m is Assigned or NoServerAvailable);
    }

    private string AssignedServer(IActorRef balancer, string connectionId, params string[] tried) =>
        Assert.IsType<Assigned>(Acquire(balancer, connectionId, tried)).Server;

    private UpstreamSnapshot Snapshot(IActorRef balancer)
    {
        balancer.Tell(new GetUpstreamSnapshot("backend"));
        return ExpectMsg<UpstreamSnapshot>();
    }

    // The round trip makes sure the failure is recorded before the test moves the clock.
    private void FailConnect(IActorRef balancer, string connectionId, string server)
    {
        balancer.Tell(new ConnectFailed("backend", connectionId, server));
        Snapshot(balancer);
    }

    private Dictionary<string, int> ActiveCounts(IActorRef balancer) => Snapshot(balancer).Servers.ToDictionary(s => s.Address, s => s.Active);

    [Fact]
    public void Acquire_assigns_a_server_and_counts_it()
    {
        var balancer = Balancer(Server("a:1"));

        Assert.Equal(new Assigned("c1", "a:1"), Acquire(balancer, "c1"));
        Assert.Equal(1, ActiveCounts(balancer)["a:1"]);
    }

    [Fact]
    public void Acquire_again_returns_the_same_assignment_without_counting_twice()
    {
        var balancer = Balancer(Server("a:1"), Server("b:1"));

        var first = AssignedServer(balancer, "c1");

        Assert.Equal(first, AssignedServer(balancer, "c1"));
        Assert.Equal(1, Snapshot(balancer).TotalActive);
    }

    [Fact]
    public void Release_lowers_the_count_and_unknown_ids_are_ignored()
    {
        var balancer = Balancer(Server("a:1"));
        AssignedServer(balancer, "c1");
        AssignedServer(balancer, "c2");

        balancer.Tell(new Release("backend", "c1"));
        balancer.Tell(new Release("backend", "c1"));
        balancer.Tell(new Release("backend", "never-seen"));

        Assert.Equal(1, ActiveCounts(balancer)["a:1"]);
    }

    [Fact]
    public void Least_conn_spreads_connections_evenly()
    {
        var balancer = Balancer(Server("a:1"), Server("b:1"), Server("c:1"));

        for (var i = 0; i < 6; i++)
            AssignedServer(balancer, $"c{i}");

        Assert.All(ActiveCounts(balancer).Values, active => Assert.Equal(2, active));
    }

    [Fact]
    public void Servers_at_max_conns_take_no_more()
    {
        var balancer = Balancer(Server("a:1", maxConns: 1), Server("b:1", maxConns: 2));

        var servers = Enumerable.Range(0, 3).Select(i => AssignedServer(balancer, $"c{i}")).Order().ToList();

        Assert.Equal(["a:1", "b:1", "b:1"], servers);
        Assert.Equal(new NoServerAvailable("c3", "all servers of upstream \"backend\" are at max_conns"), Acquire(balancer, "c3"));
    }

    [Fact]
    public void Down_servers_are_skipped()
    {
        var balancer = Balancer(Server("a:1", down: true), Server("b:1"));

        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal("b:1", AssignedServer(balancer, $"c{i}")));
        Assert.Equal(ServerState.Down, Snapshot(balancer).Servers.Single(s => s.Address == "a:1").State);
    }

    [Fact]
    public void Backup_is_used_only_while_no_primary_is_available()
    {
        var balancer = Balancer(Server("primary:1", maxConns: 1), Server("backup:1", backup: true));

        Assert.Equal("primary:1", AssignedServer(balancer, "c1"));
        Assert.Equal("backup:1", AssignedServer(balancer, "c2"));
        balancer.Tell(new Release("backend", "c1"));
        Assert.Equal("primary:1", AssignedServer(balancer, "c3"));
    }

    [Fact]
    public void Tried_servers_are_not_picked_again()
    {
        var balancer = Balancer(Server("a:1"), Server("b:1"));

        Assert.Equal("b:1", AssignedServer(balancer, "c1", "a:1"));
        Assert.Equal(new NoServerAvailable("c2", "no live upstreams in upstream \"backend\""), Acquire(balancer, "c2", "a:1", "b:1"));
    }

    [Fact]
    public void A_retry_that_names_the_assigned_server_as_tried_gets_a_fresh_pick_before_its_connect_failed_arrives()
    {
        // ConnectFailed travels through the ledger, so the connection's next Acquire can overtake it.
        var balancer = Balancer(Server("a:1", maxFails: 0), Server("b:1", maxFails: 0));
        var first = AssignedServer(balancer, "c1");
        var other = first == "a:1" ? "b:1" : "a:1";

        Assert.Equal(other, AssignedServer(balancer, "c1", first));
        balancer.Tell(new ConnectFailed("backend", "c1", first));

        Assert.Equal(new Dictionary<string, int> { [first] = 0, [other] = 1 }, ActiveCounts(balancer));
    }

    [Fact]
    public void No_live_upstreams_when_every_server_is_down()
    {
        var balancer = Balancer(Server("a:1", down: true), Server("b:1", down: true, backup: true));

        Assert.Equal(new NoServerAvailable("c1", "no live upstreams in upstream \"backend\""), Acquire(balancer, "c1"));
    }

    [Fact]
    public void Connect_failed_releases_the_assignment()
    {
        var balancer = Balancer(Server("a:1", maxFails: 0));
        AssignedServer(balancer, "c1");

        balancer.Tell(new ConnectFailed("backend", "c1", "a:1"));

        Assert.Equal(0, ActiveCounts(balancer)["a:1"]);
    }

    [Fact]
    public void Max_fails_within_fail_timeout_marks_a_server_failed_until_it_expires()
    {
        var balancer = Balancer(Server("a:1", maxFails: 2, failTimeoutSeconds: 10), Server("b:1"));

        FailConnect(balancer, "x1", "a:1");
        _time.Advance(TimeSpan.FromSeconds(5));
        FailConnect(balancer, "x2", "a:1");

        Assert.Equal(ServerState.Failed, Snapshot(balancer).Servers.Single(s => s.Address == "a:1").State);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal("b:1", AssignedServer(balancer, $"c{i}")));

        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(ServerState.Up, Snapshot(balancer).Servers.Single(s => s.Address == "a:1").State);
        Assert.Equal("a:1", AssignedServer(balancer, "c3"));
    }

    [Fact]
    public void Failures_further_apart_than_fail_timeout_do_not_add_up()
    {
        var balancer = Balancer(Server("a:1", maxFails: 2, failTimeoutSeconds: 10));

        FailConnect(balancer, "x1", "a:1");
        _time.Advance(TimeSpan.FromSeconds(11));
        FailConnect(balancer, "x2", "a:1");

        Assert.Equal(ServerState.Up, Snapshot(balancer).Servers.Single().State);
    }

    [Fact]
    public void Ledger_reports_add_unknown_connections_once_move_known_ones_to_the_reported_server_and_ignore_foreign_servers()
    {
        var balancer = Balancer(Server("a:1"), Server("b:1"));
        Assert.Equal("a:1", AssignedServer(balancer, "c1"));
        var report = new LedgerReport("backend", "node-b", [new LedgerEntry("c1", "b:1"), new LedgerEntry("c2", "b:1"), new LedgerEntry("c3", "gone:1")]);

        balancer.Tell(report);
        balancer.Tell(report);

        // The ledger is the truth: c1 was placed on b:1 by a fallback pick while this balancer was unreachable.
        Assert.Equal(new Dictionary<string, int> { ["a:1"] = 0, ["b:1"] = 2 }, ActiveCounts(balancer));
    }

    [Fact]
    public void A_complete_report_forgets_the_nodes_connections_it_does_not_list_but_keeps_its_pending_asks()
    {
        var balancer = Balancer(Server("a:1"), Server("b:1"));
        AssignedServer(balancer, "c1");
        AssignedServer(balancer, "c2");
        balancer.Tell(new Acquire("backend", "other-node-c", "node-b", null, []));
        ExpectMsg<Assigned>();

        // node-a's ledger knows c1 only; c2's release was lost; c3's ask is on its way.
        balancer.Tell(new LedgerReport("backend", "node-a", [new LedgerEntry("c1", "a:1")], Complete: true, Pending: ["c3"]));
        AssignedServer(balancer, "c3");

        Assert.Equal(3, Snapshot(balancer).TotalActive); // c1, c3 and node-b's connection
        balancer.Tell(new LedgerReport("backend", "node-a", [new LedgerEntry("c1", "a:1")], Complete: true, Pending: ["c3"]));
        Assert.Equal(3, Snapshot(balancer).TotalActive);
    }
}
