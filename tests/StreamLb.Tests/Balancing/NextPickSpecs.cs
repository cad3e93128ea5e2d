using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

/// <summary>
/// Picks made ahead: the balancer, running on node "here", gives every other node that asks the server its next
/// connection takes without asking, and keeps it what it would pick now.
/// </summary>
public sealed class NextPickSpecs : TestKit
{
    private readonly ManualTimeProvider _time = new();

    private IActorRef Balancer(string policy, params UpstreamServerConfig[] servers) => Balancer(policy, TimeSpan.Zero, servers);

    private IActorRef Balancer(string policy, TimeSpan reviewInterval, params UpstreamServerConfig[] servers) =>
        Sys.ActorOf(BalancerActor.Props(
            new UpstreamConfig { Name = "backend", Servers = servers, Policy = policy },
            new BalancerSettings
            {
                Ledgers = new FixedLedgerDirectory(), Time = _time, RandomFactory = () => new Random(7), Node = "here",
                NextPickReviewInterval = reviewInterval,
            }));

    private IActorRef LeastConn(params string[] addresses) => LeastConn(TimeSpan.Zero, addresses);

    private IActorRef LeastConn(TimeSpan reviewInterval, params string[] addresses) =>
        Balancer(LoadBalancingPolicies.LeastConn, reviewInterval, addresses.Select(a => new UpstreamServerConfig { Address = a }).ToArray());

    /// <summary>Asks as <paramref name="ledger"/> of <paramref name="node"/>: the answer, and the next pick if one comes with it.</summary>
    private static string Ask(IActorRef balancer, TestProbe ledger, string connectionId, string node = "there", string? hashKey = null)
    {
        balancer.Tell(new Acquire("backend", connectionId, node, hashKey, []), ledger.Ref);
        return ledger.ExpectMsg<Assigned>(a => a.ConnectionId == connectionId).Server;
    }

    private UpstreamSnapshot Snapshot(IActorRef balancer)
    {
        balancer.Tell(new GetUpstreamSnapshot("backend"));
        return ExpectMsg<UpstreamSnapshot>();
    }

    [Fact]
    public void Another_node_gets_the_least_loaded_server_ahead_and_taking_it_counts_the_connection_and_brings_the_next()
    {
        var balancer = LeastConn("a:1", "b:1");
        var ledger = CreateTestProbe();

        var first = Ask(balancer, ledger, "c1");
        var next = ledger.ExpectMsg<NextPick>();
        Assert.Equal(new NextPick("backend", first == "a:1" ? "b:1" : "a:1"), next);
        // Made ahead, not counted: the admin API shows connections only.
        Assert.Equal(1, Snapshot(balancer).TotalActive);

        balancer.Tell(new NextPickTaken("backend", "c2", "there", next.Server!), ledger.Ref);

        // c2 counts where the node sent it; with one connection on each server, the next is either.
        ledger.ExpectMsg<NextPick>(n => n.Server is "a:1" or "b:1");
        Assert.Equal([1, 1], Snapshot(balancer).Servers.Select(s => s.Active));
        // Asking again while a pick made ahead is on its way does not bring another.
        Ask(balancer, ledger, "c3");
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void The_balancers_own_node_hashed_upstreams_and_upstreams_with_max_conns_get_none()
    {
        var ledger = CreateTestProbe();
        Ask(LeastConn("a:1", "b:1"), ledger, "c1", node: "here");
        Ask(Balancer(LoadBalancingPolicies.Hash, new UpstreamServerConfig { Address = "a:1" }), ledger, "c2", hashKey: "10.0.0.1");
        Ask(Balancer(LoadBalancingPolicies.LeastConn, new UpstreamServerConfig { Address = "a:1", MaxConns = 5 }), ledger, "c3");

        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    /// <summary>Least_conn over a:1 and b:1; another node asked once and holds the pick made ahead for it.</summary>
    private (IActorRef Balancer, TestProbe Ledger, string Held) HoldingOne()
    {
        var balancer = LeastConn("a:1", "b:1");
        var ledger = CreateTestProbe();
        Ask(balancer, ledger, "c1");
        return (balancer, ledger, ledger.ExpectMsg<NextPick>().Server!);
    }

    [Fact]
    public void A_pick_made_ahead_on_a_server_that_leaves_rotation_is_replaced_or_withdrawn()
    {
        var (balancer, ledger, held) = HoldingOne();
        var other = held == "a:1" ? "b:1" : "a:1";

        // The admin's answer waits until the node holds the replacement.
        balancer.Tell(new UpdateServer("backend", held, Mode: ServerMode.Drain));
        ledger.ExpectMsg(new NextPick("backend", other, Confirm: true));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        ledger.Reply(new NextPickConfirmed("backend"));
        Assert.Equal(ServerState.Draining, ExpectMsg<ServerChanged>().Server.State);

        balancer.Tell(new UpdateServer("backend", other, Mode: ServerMode.Down));
        ledger.ExpectMsg(new NextPick("backend", null, Confirm: true));
        ledger.Reply(new NextPickConfirmed("backend"));
        Assert.Equal(ServerState.Down, ExpectMsg<ServerChanged>().Server.State);
    }

    [Fact]
    public void A_node_that_does_not_confirm_holds_the_admins_answer_back_for_a_bounded_time_only()
    {
        var (balancer, ledger, held) = HoldingOne();

        balancer.Tell(new UpdateServer("backend", held, Mode: ServerMode.Drain));

        ledger.ExpectMsg<NextPick>(n => n.Confirm);
        Assert.Equal(ServerState.Draining, ExpectMsg<ServerChanged>(TimeSpan.FromSeconds(15)).Server.State);
    }

    /// <summary>
    /// The other node asks once (a:1) and holds b:1 made ahead; then the balancer's own node opens three (b:1, a:1,
    /// b:1): a:1 2, b:1 2. Returns the ledger of the other node.
    /// </summary>
    private TestProbe HoldingBWithTwoEach(IActorRef balancer)
    {
        var ledger = CreateTestProbe();
        var local = CreateTestProbe();
        Assert.Equal("a:1", Ask(balancer, ledger, "x1"));
        Assert.Equal(new NextPick("backend", "b:1"), ledger.ExpectMsg<NextPick>());
        Assert.Equal("b:1", Ask(balancer, local, "l1", node: "here"));
        Assert.Equal("a:1", Ask(balancer, local, "l2", node: "here"));
        Assert.Equal("b:1", Ask(balancer, local, "l3", node: "here"));
        return ledger;
    }

    [Fact]
    public void Least_conn_keeps_a_pick_made_ahead_within_one_connection_of_the_least_loaded_and_replaces_it_beyond()
    {
        var balancer = LeastConn("a:1", "b:1");
        var ledger = HoldingBWithTwoEach(balancer);

        // a:1 down to 1: b:1 (2) is one connection behind, kept.
        balancer.Tell(new Release("backend", "x1"));
        Snapshot(balancer);
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // a:1 down to 0: more than one behind, replaced.
        balancer.Tell(new Release("backend", "l2"));
        ledger.ExpectMsg(new NextPick("backend", "a:1"));
    }

    /// <summary>
    /// As <see cref="HoldingBWithTwoEach"/>, then a:1 down to 0: the other node's pick (b:1, 2) is more than one
    /// connection behind, replaced once <paramref name="reviewInterval"/> since it was sent has passed.
    /// </summary>
    private (IActorRef Balancer, TestProbe Ledger) HoldingBTwoBehind(TimeSpan reviewInterval)
    {
        var balancer = LeastConn(reviewInterval, "a:1", "b:1");
        var ledger = HoldingBWithTwoEach(balancer);
        balancer.Tell(new Release("backend", "x1"));
        balancer.Tell(new Release("backend", "l2"));
        return (balancer, ledger);
    }

    [Fact]
    public void Moving_counts_replace_a_pick_made_ahead_at_most_once_per_interval_but_a_server_leaving_rotation_at_once()
    {
        // b:1 two connections ahead of a:1: more than one behind, but sent within the hour: kept for now.
        var (balancer, ledger) = HoldingBTwoBehind(TimeSpan.FromHours(1));
        Snapshot(balancer);
        ledger.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        balancer.Tell(new UpdateServer("backend", "b:1", Mode: ServerMode.Drain));
        ledger.ExpectMsg(new NextPick("backend", "a:1", Confirm: true));
        ledger.Reply(new NextPickConfirmed("backend"));
        ExpectMsg<ServerChanged>();
    }

    [Fact]
    public void A_replacement_held_back_by_the_interval_comes_when_it_ends()
    {
        var (_, ledger) = HoldingBTwoBehind(TimeSpan.FromMilliseconds(500));

        // Nothing else happens at the balancer: only its own timer can bring this.
        ledger.ExpectMsg(new NextPick("backend", "a:1"), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_taken_pick_of_a_server_no_longer_known_is_not_counted_and_still_brings_the_next()
    {
        var balancer = LeastConn("a:1");
        var ledger = CreateTestProbe();
        Ask(balancer, ledger, "c1");
        ledger.ExpectMsg(new NextPick("backend", "a:1"));

        balancer.Tell(new NextPickTaken("backend", "c2", "there", "gone:1"), ledger.Ref);

        ledger.ExpectMsg(new NextPick("backend", "a:1"));
        Assert.Equal(1, Snapshot(balancer).TotalActive);
    }
}
