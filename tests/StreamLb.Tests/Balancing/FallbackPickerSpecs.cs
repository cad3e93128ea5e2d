using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

/// <summary>The node's stand-in when the balancer does not answer: picks from the last snapshot it has.</summary>
public sealed class FallbackPickerSpecs : TestKit
{
    private static readonly UpstreamConfig Backend = new()
    {
        Name = "backend",
        Policy = LoadBalancingPolicies.LeastConn,
        Servers =
        [
            new UpstreamServerConfig { Address = "a:1" },
            new UpstreamServerConfig { Address = "b:1", Weight = 2 },
            new UpstreamServerConfig { Address = "c:1", Down = true },
        ],
    };

    private string Pick(IActorRef picker, string id, params string[] tried)
    {
        picker.Tell(new Acquire("backend", id, "node-a", null, tried));
        return ExpectMsg<Assigned>().Server;
    }

    [Fact]
    public void Before_any_snapshot_it_picks_from_the_config_and_counts_its_own_picks_by_weight()
    {
        var silentBalancers = CreateTestProbe();
        var picker = Sys.ActorOf(FallbackPicker.Props(silentBalancers.Ref, [Backend], TimeSpan.FromMinutes(1)));

        var picks = Enumerable.Range(0, 6).Select(i => Pick(picker, $"c{i}")).ToList();

        Assert.Equal(2, picks.Count(p => p == "a:1"));
        Assert.Equal(4, picks.Count(p => p == "b:1"));
        Assert.DoesNotContain("c:1", picks);
    }

    [Fact]
    public void It_picks_by_the_balancers_last_snapshot_and_skips_tried_and_unavailable_servers()
    {
        var balancers = CreateTestProbe();
        var picker = Sys.ActorOf(FallbackPicker.Props(balancers.Ref, [Backend], TimeSpan.FromMinutes(1)));
        balancers.ExpectMsg(new GetUpstreamSnapshot("backend"));
        Assert.Equal(picker, balancers.LastSender); // the picker itself, which a remote balancer resolves once
        balancers.Reply(new UpstreamSnapshot("backend", LoadBalancingPolicies.LeastConn,
        [
            new ServerSnapshot(0, "a:1", 1, 0, ServerState.Up, false, 0),
            new ServerSnapshot(1, "b:1", 2, 10, ServerState.Unhealthy, false, 0),
            new ServerSnapshot(2, "c:1", 1, 0, ServerState.Up, false, 0),
        ]));

        // Once the snapshot is in: b:1 is out (unhealthy there, up in the config), c:1 is back (down in the config).
        AwaitAssert(() =>
        {
            picker.Tell(new Acquire("backend", "probe", "node-a", null, ["a:1", "c:1"]));
            Assert.Equal("no live upstreams in upstream \"backend\" (last snapshot)", ExpectMsg<NoServerAvailable>().Reason);
        });
        Assert.Equal("c:1", Pick(picker, "c1", "a:1"));
    }
}
