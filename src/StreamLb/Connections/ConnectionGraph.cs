using System.Net.Sockets;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using StreamLb.Listening;
using StreamLb.Relay;
using StreamLb.Sockets;
using StreamLb.Tls;

namespace StreamLb.Connections;

/// <summary>
/// The graph every connection of one listener runs: client socket ⇄ TLS (for <c>ssl</c>) ⇄ relay ⇄ upstream socket.
/// Built and fused once per listener, so a new connection only materializes it; the accepted socket is attached
/// afterwards and the upstream side connects once a server is picked.
/// </summary>
public sealed class ConnectionGraph
{
    // Kept as the fused graph itself: the materializer fuses anything else again, on every connection.
    private readonly Fusing.FusedGraph<ClosedShape, (SocketConnector Client, StageOutcome<TlsSessionInfo>? Handshake, RelayControl Relay, SocketConnector Upstream)> _graph;

    public ConnectionGraph(ListenerSettings settings)
    {
        var relay = RelayStage.Create(settings.Server.ProxyTimeout, settings.Server.HalfClose)
            .JoinMat(SocketStage.Create(), Keep.Both);
        var client = SocketStage.Create();
        var graph = settings.Tls is { } tls
            ? client.JoinMaterialized(tls.Stage(), (socket, handshake) => (socket, (StageOutcome<TlsSessionInfo>?)handshake))
                .JoinMaterialized(relay, (a, b) => (a.socket, a.Item2, b.Item1, b.Item2))
            : client.JoinMaterialized(relay, (socket, b) => (socket, (StageOutcome<TlsSessionInfo>?)null, b.Item1, b.Item2));
        _graph = Fusing.Aggressive(graph);
    }

    /// <summary>
    /// Starts the graph for an accepted client socket, which it owns from now on, inside <paramref name="owner"/>: the
    /// connection actor, which hands the graph's events to the returned <see cref="HostedGraph"/>.
    /// </summary>
    public (HostedGraph Graph, StageOutcome<TlsSessionInfo>? Handshake, RelayControl Relay, SocketConnector Upstream) Run(Socket client,
        IMaterializer materializer, IActorRef owner)
    {
        var (hosted, (clientSocket, handshake, relay, upstream)) = HostedGraph.Materialize(_graph, materializer, owner);
        // Handed over before the stages start: the client's stage takes it as it starts.
        clientSocket.Attach(client);
        hosted.Start();
        return (hosted, handshake, relay, upstream);
    }
}
