using Akka.Actor;
using StreamLb.Configuration;

namespace StreamLb.Balancing;

/// <summary>
/// Routes every <see cref="IBalancerMessage"/> to a child balancer per upstream, created on its first message. It
/// stands where the cluster shard region will: same messages, same one-balancer-per-upstream.
/// </summary>
public sealed class LocalBalancerRegion : ReceiveActor
{
    private readonly StreamConfig _config;
    private readonly Func<UpstreamConfig, Props> _balancerProps;
    private readonly Dictionary<string, IActorRef> _balancers = [];

    public LocalBalancerRegion(StreamConfig config, Func<UpstreamConfig, Props> balancerProps)
    {
        _config = config;
        _balancerProps = balancerProps;

        Receive<IBalancerMessage>(message =>
        {
            if (BalancerOf(message.Upstream) is { } balancer)
                balancer.Forward(message);
            else
                RejectUnknown(message);
        });
        Receive<Terminated>(terminated =>
        {
            foreach (var (upstream, _) in _balancers.Where(b => b.Value.Equals(terminated.ActorRef)).ToList())
                _balancers.Remove(upstream);
        });
    }

    /// <param name="balancerProps">Makes the balancer of an upstream, e.g. with <see cref="BalancerActor.Props"/>.</param>
    public static Props Props(StreamConfig config, Func<UpstreamConfig, Props> balancerProps) =>
        Akka.Actor.Props.Create(() => new LocalBalancerRegion(config, balancerProps));

    // A crashed balancer is restarted in place; its PreStart asks the ledgers again, so its counts come back.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 10, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart);

    private IActorRef? BalancerOf(string upstream)
    {
        if (_balancers.TryGetValue(upstream, out var balancer))
            return balancer;
        if (_config.FindUpstream(upstream) is not { } upstreamConfig)
            return null;
        balancer = Context.ActorOf(_balancerProps(upstreamConfig), Uri.EscapeDataString(upstream));
        Context.Watch(balancer);
        _balancers[upstream] = balancer;
        return balancer;
    }

    private void RejectUnknown(IBalancerMessage message)
    {
        var reason = $"unknown upstream \"{message.Upstream}\"";
        switch (message)
        {
            case Acquire acquire:
                Sender.Tell(new NoServerAvailable(acquire.ConnectionId, reason));
                break;
            case GetUpstreamSnapshot:
                Sender.Tell(new Status.Failure(new ArgumentException(reason)));
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
