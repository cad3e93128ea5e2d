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
/// Made ready once per listener (<see cref="HostedGraphTemplate"/>), so a new connection only makes its stages; the
/// accepted socket is attached afterwards and the upstream side connects once a server is picked.
/// </summary>
public sealed class ConnectionGraph
{
    private readonly HostedGraphTemplate _template;
    private readonly int _client;
    private readonly int? _tls;
    private readonly int _relay;
    private readonly int _upstream;

    public ConnectionGraph(ListenerSettings settings, IMaterializer materializer)
    {
        var tls = settings.Tls?.NewStage();
        // Under TLS, close_notify tells the client the server's side has ended; the FIN follows with the close.
        var client = new SocketStage { SendsFinWhenInputEnds = tls is null };
        var relay = new RelayStage(settings.Server.ProxyTimeout, settings.Server.HalfClose);
        var upstream = new SocketStage();
        var relayToUpstream = BidiFlow.FromGraph(relay).Join(Flow.FromGraph(upstream));
        var graph = tls is not null
            ? Flow.FromGraph(client).Join(BidiFlow.FromGraph(tls).Join(relayToUpstream))
            : Flow.FromGraph(client).Join(relayToUpstream);
        _template = new HostedGraphTemplate(graph, materializer);
        _client = _template.IndexOf(client);
        _tls = tls is null ? null : _template.IndexOf(tls);
        _relay = _template.IndexOf(relay);
        _upstream = _template.IndexOf(upstream);
    }

    /// <summary>
    /// Starts the graph for an accepted client socket, which it owns from now on, inside <paramref name="owner"/>: the
    /// connection actor, which hands the graph's events to the returned <see cref="HostedGraph"/>.
    /// </summary>
    public (HostedGraph Graph, StageOutcome<TlsSessionInfo>? Handshake, RelayControl Relay, SocketConnector Upstream) Run(Socket client,
        IActorRef owner)
    {
        var run = _template.RunIn(owner);
        // Handed over before the stages start: the client's stage takes it as it starts.
        run.Value<SocketConnector>(_client).Attach(client);
        run.Graph.Start();
        var handshake = _tls is { } tls ? run.Value<StageOutcome<TlsSessionInfo>>(tls) : null;
        return (run.Graph, handshake, run.Value<RelayControl>(_relay), run.Value<SocketConnector>(_upstream));
    }
}
