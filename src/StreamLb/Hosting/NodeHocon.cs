namespace StreamLb.Hosting;

/// <summary>The Akka settings every node runs with.</summary>
public static class NodeHocon
{
    /// <summary>
    /// Log at INFO: start-up, membership and health changes, warnings for every connection that ends early. A line per
    /// relayed connection (its server, bytes, how it ended) is DEBUG, as nginx's stream access log is off by default.
    /// Akka IO's TCP settings do not apply: the bytes go through <see cref="Sockets.SocketStage"/>.
    /// </summary>
    public const string Default = """
        akka {
          loglevel = INFO
          actor.debug.unhandled = off
        }
        """ + "\n" + Relay.RelayDispatcher.Hocon;
}
