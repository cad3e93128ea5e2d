namespace StreamLb.Hosting;

/// <summary>The Akka settings every node runs with.</summary>
public static class NodeHocon
{
    /// <summary>
    /// Log at INFO: start-up, membership and health changes, warnings for every connection that ends early. A line per
    /// relayed connection (its server, bytes, how it ended) is DEBUG, as nginx's stream access log is off by default.
    /// Akka IO's TCP settings do not apply: the bytes go through <see cref="Sockets.SocketStage"/>.
    /// The scheduler's clock ticks every 50 ms rather than Akka's 10 ms: each tick wakes two threads whether any timer
    /// is due or not, and at 10 ms an idle node spent about 3% of a core on them (1% at 50 ms). A timer now fires up to
    /// 50 ms late: nothing next to the proxy's timeouts, whose defaults are seconds to minutes.
    /// </summary>
    public const string Default = """
        akka {
          loglevel = INFO
          actor.debug.unhandled = off
          scheduler.tick-duration = 50ms
        }
        """ + "\n" + Relay.RelayDispatcher.Hocon;
}
