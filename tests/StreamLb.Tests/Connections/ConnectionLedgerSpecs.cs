using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Connections;
using Xunit;

namespace StreamLb.Tests.Connections;

public sealed class ConnectionLedgerSpecs : TestKit
{
    private readonly TestProbe _region;
    private readonly IActorRef _ledger;

    public ConnectionLedgerSpecs()
    {
        _region = CreateTestProbe();
        _ledger = Sys.ActorOf(ConnectionLedger.Props("node-a", _region.Ref));
    }

    private int LiveCount()
    {
        _ledger.Tell(ConnectionLedger.GetLiveCount.Instance);
        return ExpectMsg<int>();
    }

    [Fact]
    public void Tracked_connections_are_counted_once()
    {
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));
        _ledger.Tell(new ConnectionLedger.Track("other", "c2", "b:1"));

        Assert.Equal(2, LiveCount());
    }

    [Fact]
    public void The_balancer_answers_the_ledger_which_hands_the_answer_to_the_connection_that_asked()
    {
        var connection = CreateTestProbe();
        var acquire = new Acquire("backend", "c1", "node-a", null, []);

        _ledger.Tell(acquire, connection.Ref);

        _region.ExpectMsg(acquire);
        Assert.Equal(_ledger, _region.LastSender); // one long-lived sender for the balancer, not each connection actor
        _region.Reply(new Assigned("c1", "a:1"));
        connection.ExpectMsg(new Assigned("c1", "a:1"));
        Assert.Equal(_region.Ref, connection.LastSender); // still from the balancer: a fallback pick can be told apart

        _ledger.Tell(new ConnectionLedger.Untrack("backend", "c1"), connection.Ref);
        _region.ExpectMsg(new Release("backend", "c1"));
        _ledger.Tell(new NoServerAvailable("c1", "late"), _region.Ref);
        // The ask had ended: nothing is handed on. The count, asked after it, is the next thing the connection hears.
        _ledger.Tell(ConnectionLedger.GetLiveCount.Instance, connection.Ref);
        Assert.Equal(0, connection.ExpectMsg<int>());
    }

    [Fact]
    public void A_pick_made_ahead_answers_the_next_ask_at_once_and_the_balancer_hears_which_connection_took_it()
    {
        var connection = CreateTestProbe();
        Acquire Ask(string id, string? hashKey = null, params string[] tried)
        {
            var acquire = new Acquire("backend", id, "node-a", hashKey, tried);
            _ledger.Tell(acquire, connection.Ref);
            return acquire;
        }

        _ledger.Tell(new NextPick("backend", "b:1"), _region.Ref);
        Ask("c1");
        connection.ExpectMsg(new Assigned("c1", "b:1"));
        Assert.Equal(_ledger, connection.LastSender); // told apart from the balancer's answers
        _region.ExpectMsg(new NextPickTaken("backend", "c1", "node-a", "b:1"));

        // Taken once: the next ask goes to the balancer; so do a retry and a hashed ask while one is held.
        _region.ExpectMsg(Ask("c2"));
        _ledger.Tell(new NextPick("backend", "b:1"), _region.Ref);
        _region.ExpectMsg(Ask("c3", null, "a:1"));
        _region.ExpectMsg(Ask("c4", "10.0.0.1"));

        // A replacement that asks for confirmation gets it, and is what the next ask takes.
        _ledger.Tell(new NextPick("backend", "a:1", Confirm: true), _region.Ref);
        _region.ExpectMsg(new NextPickConfirmed("backend"));
        Ask("c4b");
        connection.ExpectMsg(new Assigned("c4b", "a:1"));
        _region.ExpectMsg(new NextPickTaken("backend", "c4b", "node-a", "a:1"));

        // Withdrawn: asked for. Dropped when a new balancer incarnation asks for the ledger's report, which counts the
        // connection placed ahead (not tracked yet) as an ask on its way.
        _ledger.Tell(new NextPick("backend", null), _region.Ref);
        _region.ExpectMsg(Ask("c5"));
        _ledger.Tell(new NextPick("backend", "b:1"), _region.Ref);
        _ledger.Tell(new LedgerResyncRequest("backend", _region.Ref));
        Assert.Contains("c1", _region.ExpectMsg<LedgerReport>().Pending!);
        _region.ExpectMsg(Ask("c6"));
    }

    [Fact]
    public void Untrack_forgets_the_connection_and_releases_it_at_the_balancer()
    {
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));

        _ledger.Tell(new ConnectionLedger.Untrack("backend", "c1"));

        _region.ExpectMsg(new Release("backend", "c1"));
        Assert.Equal(0, LiveCount());
    }

    [Fact]
    public void Track_failed_forgets_the_connection_and_reports_the_failure()
    {
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));

        _ledger.Tell(new ConnectionLedger.TrackFailed("backend", "c1", "a:1"));

        _region.ExpectMsg(new ConnectFailed("backend", "c1", "a:1"));
        Assert.Equal(0, LiveCount());
    }

    [Fact]
    public void Resync_reports_the_live_connections_of_the_upstream_through_the_region_after_earlier_releases()
    {
        var balancer = CreateTestProbe();
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));
        _ledger.Tell(new ConnectionLedger.Track("backend", "c2", "b:1"));
        _ledger.Tell(new ConnectionLedger.Track("other", "c3", "b:1"));
        _ledger.Tell(new ConnectionLedger.Untrack("backend", "c2"));

        _ledger.Tell(new LedgerResyncRequest("backend", balancer.Ref));

        _region.ExpectMsg(new Release("backend", "c2"));
        var report = _region.ExpectMsg<LedgerReport>();
        Assert.Equal(("backend", "node-a"), (report.Upstream, report.Node));
        Assert.Equal([new LedgerEntry("c1", "a:1")], report.Entries);
        balancer.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void Close_connections_reaches_the_tracked_connection_actors_only()
    {
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"), first.Ref);
        _ledger.Tell(new ConnectionLedger.Track("backend", "c2", "a:1"), second.Ref);

        _ledger.Tell(new CloseConnections("backend", ["c1", "c9"], "drained"));

        first.ExpectMsg(new ConnectionLedger.CloseConnection("drained"));
        second.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_connection_tracked_after_a_resync_passed_its_ask_is_reported_on_its_own()
    {
        var acquire = new Acquire("backend", "c1", "node-a", null, []);
        _ledger.Tell(acquire);
        _region.ExpectMsg(acquire);

        _ledger.Tell(new LedgerResyncRequest("backend", TestActor));
        Assert.Empty(_region.ExpectMsg<LedgerReport>().Entries);
        _ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));

        Assert.Equal([new LedgerEntry("c1", "a:1")], _region.ExpectMsg<LedgerReport>().Entries);
    }

    [Fact]
    public void Complete_reports_go_out_periodically_for_every_upstream_with_tracked_connections_and_pending_asks()
    {
        var region = CreateTestProbe();
        var ledger = Sys.ActorOf(ConnectionLedger.Props("node-a", region.Ref, ["backend", "other"], TimeSpan.FromMilliseconds(200)));
        ledger.Tell(new ConnectionLedger.Track("backend", "c1", "a:1"));
        ledger.Tell(new Acquire("backend", "c2", "node-a", null, []));
        region.ExpectMsg<Acquire>();

        var reports = new[] { region.ExpectMsg<LedgerReport>(), region.ExpectMsg<LedgerReport>() }.ToDictionary(r => r.Upstream);

        Assert.True(reports["backend"].Complete);
        Assert.Equal([new LedgerEntry("c1", "a:1")], reports["backend"].Entries);
        Assert.Equal(["c2"], reports["backend"].Pending!);
        Assert.Empty(reports["other"].Entries);
    }
}
