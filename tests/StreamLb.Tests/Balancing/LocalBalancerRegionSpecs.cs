using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

public sealed class LocalBalancerRegionSpecs : TestKit
{
    private readonly IActorRef _region;

    public LocalBalancerRegionSpecs()
    {
        var config = new StreamConfig
        {
            Upstreams =
            [
                new UpstreamConfig { Name = "backend", Servers = [new UpstreamServerConfig { Address = "a:1" }] },
                new UpstreamConfig { Name = "chat", Servers = [new UpstreamServerConfig { Address = "b:1" }] },
            ],
            Servers = [],
        };
        _region = Sys.ActorOf(LocalBalancerRegion.Props(config,
            upstream => BalancerActor.Props(upstream, new FixedLedgerDirectory(), TimeProvider.System, new Random(1))));
    }

    [Fact]
    public void Each_upstream_has_its_own_balancer()
    {
        _region.Tell(new Acquire("backend", "c1", "node-a", null, []));
        ExpectMsg(new Assigned("c1", "a:1"));
        _region.Tell(new Acquire("chat", "c2", "node-a", null, []));
        ExpectMsg(new Assigned("c2", "b:1"));

        _region.Tell(new GetUpstreamSnapshot("chat"));
        var chat = ExpectMsg<UpstreamSnapshot>();
        var chatBalancer = LastSender;
        _region.Tell(new GetUpstreamSnapshot("backend"));
        ExpectMsg<UpstreamSnapshot>();

        Assert.Equal(("chat", 1), (chat.Upstream, chat.TotalActive));
        Assert.NotEqual(chatBalancer, LastSender);
    }

    [Fact]
    public void Unknown_upstreams_are_refused()
    {
        _region.Tell(new Acquire("nope", "c1", "node-a", null, []));
        ExpectMsg(new NoServerAvailable("c1", "unknown upstream \"nope\""));

        _region.Tell(new GetUpstreamSnapshot("nope"));
        var failure = ExpectMsg<Status.Failure>();
        Assert.Equal("unknown upstream \"nope\"", failure.Cause.Message);
    }
}
