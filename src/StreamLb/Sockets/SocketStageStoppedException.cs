namespace StreamLb.Sockets;

/// <summary>
/// A connect that never happened because its socket stage stopped first (the graph ended on this side, the client
/// went away, say): nothing is known about the server, so it must not count as the server's failure.
/// </summary>
public sealed class SocketStageStoppedException() : IOException("the socket stage stopped before it was connected");
