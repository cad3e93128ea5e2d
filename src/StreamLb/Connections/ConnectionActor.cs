using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using StreamLb.Balancing;
using StreamLb.Listening;
using StreamLb.Relay;
using StreamLb.Sockets;
using StreamLb.Tls;

namespace StreamLb.Connections;

/// <summary>
/// One accepted client connection: Handshaking → Picking → Connecting → Relaying, then it stops. It owns the
/// connection's stream graph (client socket ⇄ TLS stage ⇄ relay stage ⇄ upstream socket), which runs on its turns
/// (<see cref="HostedGraph"/>), and its balancer assignment, which the ledger releases when the actor stops, however
/// it stops.
/// </summary>
public sealed class ConnectionActor : ActorBase
{
    private readonly ListenerSettings _settings;
    private readonly AcceptedConnection _client;
    private readonly ConnectionGraph _graph;
    private readonly string _id;
    private readonly string _upstream;
    private readonly List<string> _tried = [];
    private readonly ILoggingAdapter _log;
    private HostedGraph? _stages;
    private RelayControl? _relay;
    private SocketConnector? _upstreamSocket;
    private string? _server;
    private long _pickStarted;
    private long _pickAsked;
    private long _connectStarted;
    private Acquire? _acquire;
    private Action<ConnectionTimeout>? _tellSelf;

    // The one timeout running, if any; which one is the state's: the handshake's, the pick's or the close's.
    private ConnectionTimeout? _timeout;

    private State _state = State.Handshaking;

    // Kept by a state that waits for one more outcome: how the relay ended.
    private RelayResult? _ended;

    // Set when the actor has stopped; read by the stages' outcomes on their threads.
    private volatile bool _stopped;

    public ConnectionActor(ListenerSettings settings, ConnectionGraph graph, AcceptedConnection client, string id, ILoggingAdapter log)
    {
        _log = log;
        _graph = graph;
        _settings = settings;
        _client = client;
        _id = id;
        _upstream = settings.Server.ProxyPass;
    }

    /// <summary>
    /// What a listener's connection actors share: made once per listener, with the dispatcher they run on. Props that
    /// change their deployment (a dispatcher) make a new deployment object, and Akka parses an empty configuration for
    /// each: once per listener this way, not once per connection.
    /// </summary>
    public static Props Template(ActorSystem system) =>
        RelayDispatcher.On(system, Akka.Actor.Props.CreateBy(TemplateProducer.Instance));

    /// <summary>
    /// One connection's props: the listener's <paramref name="template"/> with this connection's actor, made directly
    /// (no expression to evaluate, no handlers to build: one actor is made per connection).
    /// </summary>
    /// <param name="log">
    /// The listener's: shared by its connections (every line names its connection), so that no logger is made, with its
    /// actor path as a string, per connection.
    /// </param>
    public static Props Props(Props template, ListenerSettings settings, ConnectionGraph graph, AcceptedConnection client, string id,
        ILoggingAdapter log) =>
        new ConnectionProps(template, () => new ConnectionActor(settings, graph, client, id, log));

    private sealed class ConnectionProps(Props template, Func<ConnectionActor> produce) : Props(template)
    {
        public override ActorBase NewActor() => produce();

        protected override Props Copy() => new ConnectionProps(this, produce);
    }

    /// <summary>The template's producer: it names the actor type; each connection's props make the actor.</summary>
    private sealed class TemplateProducer : IIndirectActorProducer
    {
        public static readonly TemplateProducer Instance = new();

        public Type ActorType => typeof(ConnectionActor);

        public ActorBase Produce() => throw new InvalidOperationException("a connection actor is made by its connection's props");

        public void Release(ActorBase actor)
        {
        }
    }

    protected override void PreStart()
    {
        var self = Self;
        _tellSelf = due => self.Tell(due);
        var (stages, handshake, relay, upstream) = _graph.Run(_client.Socket, Self);
        (_stages, _relay, _upstreamSocket) = (stages, relay, upstream);
        if (handshake is not null)
        {
            TellWhenDone(handshake, info => new HandshakeDone(info), e => new HandshakeFailed(e));
            StartTimeout(_settings.Server.Tls!.HandshakeTimeout);
        }
        else
        {
            Self.Tell(new HandshakeDone(null));
        }

        // The relay's completion never faults; a failure would still arrive as how the relay ended.
        TellWhenDone(_relay.Completion, result => result, e => new RelayResult(0, 0, e));
    }

    /// <summary>
    /// Tells this actor how <paramref name="outcome"/> ended (the handshake, the upstream connect, the relay), as PipeTo
    /// does, but told on the stage's thread, with no task continuation and no await: a failure is read, not rethrown
    /// (the connect of a client that leaves while it is under way fails on most connections of a load like
    /// <c>openssl s_time</c>). Not told once this actor has stopped: the stages its stop ends (a node's stop closing
    /// the connections still open) report their end to no one, rather than each as a dead letter.
    /// </summary>
    private void TellWhenDone<T>(StageOutcome<T> outcome, Func<T, object> success, Func<Exception, object> failure)
    {
        var self = Self;
        outcome.WhenDone(done =>
        {
            if (_stopped)
                return;
            self.Tell(done.IsCompletedSuccessfully
                ? success(done.Result)
                : failure(done.Exception?.InnerException ?? done.Exception ?? (Exception)new TaskCanceledException(done)));
        });
    }

    /// <summary>
    /// The state is a field read here rather than Akka's behaviour stack: its first Become gives the actor a full
    /// state object (dictionaries for watching and stashing), one more allocation per connection for nothing.
    /// </summary>
    protected override bool Receive(object message)
    {
        if (_stages is { } stages && stages.TryReceive(message))
        {
            if (_state == State.Stopping && stages.IsTerminated)
                Context.Stop(Self);
            return true;
        }

        return ReceiveInState(message);
    }

    private bool ReceiveInState(object message) => _state switch
    {
        State.Handshaking => Handshaking(message),
        State.EndedDuringHandshake => EndedDuringHandshake(message),
        State.Picking => Picking(message),
        State.Connecting => Connecting(message),
        State.LeftWhileConnecting => LeftWhileConnecting(message),
        State.EndedWhileConnecting => EndedWhileConnecting(message),
        State.Relaying => Relaying(message),
        State.Closing => Closing(message),
        _ => Stopping(message),
    };

    private enum State
    {
        Handshaking,
        EndedDuringHandshake,
        Picking,
        Connecting,
        LeftWhileConnecting,
        EndedWhileConnecting,
        Relaying,
        Closing,
        Stopping,
    }

    private void StartTimeout(TimeSpan after)
    {
        _timeout?.Cancel();
        _timeout = ConnectionTimeout.Start(Context.System.Scheduler, after, _tellSelf!);
    }

    private void CancelTimeout()
    {
        _timeout?.Cancel();
        _timeout = null;
    }

    /// <summary>A timeout cancelled while it was being told arrives after all: it no longer matters.</summary>
    protected override void Unhandled(object message)
    {
        if (message is not ConnectionTimeout)
            base.Unhandled(message);
    }

    private bool Handshaking(object message)
    {
        switch (message)
        {
            case HandshakeDone done:
                CancelTimeout();
                if (done.Session is not null && _log.IsDebugEnabled)
                    _log.Debug("{0} client {1}: TLS handshake done ({2})", _id, _client.RemoteAddress, done.Session);
                _pickStarted = Stopwatch.GetTimestamp();
                Pick();
                return true;
            case HandshakeFailed failed:
                Close($"SSL handshake with client {_client.RemoteAddress} failed: {Describe(failed.Error)}");
                return true;
            case ConnectionTimeout due when due == _timeout:
                Close($"SSL handshake with client {_client.RemoteAddress} timed out after {_settings.Server.Tls!.HandshakeTimeout.TotalSeconds:0.###}s (ssl_handshake_timeout)");
                return true;
            case RelayResult result:
                // A failed handshake fails the whole graph, so its end may arrive before the handshake's own outcome,
                // which always follows (the handshake task completes when the stage stops): wait for it, so nothing is
                // sent to a stopped actor.
                _ended = result;
                _state = State.EndedDuringHandshake;
                return true;
            default:
                return false;
        }
    }

    private bool EndedDuringHandshake(object message)
    {
        var result = _ended!;
        switch (message)
        {
            case HandshakeFailed when result.Error is null:
                ClientLeft("during the SSL handshake");
                return true;
            case HandshakeFailed failed:
                Stopped($"SSL handshake with client {_client.RemoteAddress} failed: {Describe(failed.Error)}");
                return true;
            case HandshakeDone:
                ClientLeft("before an upstream was picked", result.Error);
                return true;
            case ConnectionTimeout due when due == _timeout:
                ClientLeft("during the SSL handshake");
                return true;
            default:
                return false;
        }
    }

    private void Pick()
    {
        _state = State.Picking;
        var hashKey = _settings.HashKey is null ? null : HashKeys.Expand(_settings.HashKey, _client.RemoteAddress, _client.LocalAddress);
        _acquire = new Acquire(_upstream, _id, _settings.Node, hashKey, _tried.ToArray());
        // Through the ledger, like the Release that ends it: one path keeps an ask and its release in order.
        _pickAsked = Stopwatch.GetTimestamp();
        _settings.Ledger.Tell(_acquire);
        StartTimeout(_settings.PickTimeout);
    }

    // The ledger answers itself only with a pick made ahead; a balancer's answer comes with the balancer as sender.
    private PickAnswer AnswerFrom(IActorRef sender) =>
        sender.Equals(_settings.FallbackPicker) ? PickAnswer.Fallback
        : sender.Equals(_settings.Ledger) ? PickAnswer.MadeAhead
        : PickAnswer.Balancer;

    private bool Picking(object message)
    {
        switch (message)
        {
            case Assigned assigned:
            {
                CancelTimeout();
                _server = assigned.Server;
                var answer = AnswerFrom(Sender);
                var pickedLocally = answer == PickAnswer.Fallback;
                _settings.PickLatency.Record(_pickAsked, answer);
                _settings.Ledger.Tell(new ConnectionLedger.Track(_upstream, _id, assigned.Server, pickedLocally));
                _state = State.Connecting;
                _connectStarted = Stopwatch.GetTimestamp();
                TellWhenDone(_upstreamSocket!.Connect(UpstreamAddress.Parse(assigned.Server), _settings.Server.ProxyConnectTimeout),
                    _ => UpstreamConnected.Instance, e => new UpstreamFailed(assigned.Server, e));
                return true;
            }
            case NoServerAvailable none:
                _settings.PickLatency.Record(_pickAsked, AnswerFrom(Sender));
                Close($"no live upstreams while connecting to upstream \"{_upstream}\", client {_client.RemoteAddress}: {none.Reason}");
                return true;
            case ConnectionTimeout due when due == _timeout:
                _log.Warning("{0} the balancer of upstream \"{1}\" did not answer within {2:0.###}s: picking from the last snapshot",
                    _id, _upstream, _settings.PickTimeout.TotalSeconds);
                _settings.FallbackPicker.Tell(_acquire!);
                return true;
            case RelayResult result:
                ClientLeft("before an upstream was picked", result.Error);
                return true;
            default:
                return false;
        }
    }

    private bool Connecting(object message)
    {
        switch (message)
        {
            case UpstreamConnected:
                if (_log.IsDebugEnabled)
                    _log.Debug("{0} client {1} → {2} upstream \"{3}\" server {4}", _id, _client.RemoteAddress, _client.LocalAddress, _upstream, _server);
                _state = State.Relaying;
                return true;
            case UpstreamFailed failed when Unwrap(failed.Error) is SocketStageStoppedException:
                // The graph ended before the connect (to _server) could finish (the client went away): not the server's
                // fault. The relay's end follows; the assignment is released when this actor stops.
                _state = State.LeftWhileConnecting;
                return true;
            case UpstreamFailed failed:
            {
                _settings.Ledger.Tell(new ConnectionLedger.TrackFailed(_upstream, _id, failed.Server));
                _server = null;
                _tried.Add(failed.Server);
                var timeout = _settings.Server.ProxyConnectTimeout;
                var why = Stopwatch.GetElapsedTime(_connectStarted) >= timeout
                    ? $"timed out after {timeout.TotalSeconds:0.###}s (proxy_connect_timeout)"
                    : Describe(failed.Error);
                var text = $"connect to {failed.Server} failed ({why}) while connecting to upstream \"{_upstream}\", client {_client.RemoteAddress}";
                if (MayTryNext() is { } stop)
                {
                    Close($"{text}; {stop}");
                    return true;
                }

                _log.Warning("{0} {1}; trying the next server", _id, text);
                Pick();
                return true;
            }
            case RelayResult result:
                // A short exchange can be over before the connect's own outcome arrives (both come from the relay, in
                // no fixed order): wait for it, which always follows, to tell a relayed connection from one that never was.
                _ended = result;
                _state = State.EndedWhileConnecting;
                return true;
            default:
                return false;
        }
    }

    private bool LeftWhileConnecting(object message)
    {
        if (message is not RelayResult result)
            return false;
        ClientLeft($"while connecting to {_server}", result.Error);
        return true;
    }

    private bool EndedWhileConnecting(object message)
    {
        switch (message)
        {
            case UpstreamConnected:
                Ended(_ended!);
                return true;
            case UpstreamFailed failed:
                ClientLeft($"while connecting to {failed.Server}", _ended!.Error);
                return true;
            default:
                return false;
        }
    }

    private bool Relaying(object message)
    {
        switch (message)
        {
            case ConnectionLedger.CloseConnection close:
                Close(close.Reason);
                return true;
            case RelayResult result:
                Ended(result);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The relay ended after the upstream was connected: log how, and stop.</summary>
    private void Ended(RelayResult result)
    {
        // An orderly end is routine (debug, like an access log line); a timeout or an error is worth an info line. The
        // line's arguments are only made when it is written (at the default level, not for an orderly end).
        var level = result.Error is null ? LogLevel.DebugLevel : LogLevel.InfoLevel;
        if (_log.IsEnabled(level))
            _log.Log(level, "{0} client {1} ↔ server {2} {3}; {4} bytes from client, {5} from upstream",
                [_id, _client.RemoteAddress, _server, Describe(result), result.BytesFromClient, result.BytesFromUpstream]);
        StopOnceStagesEnded();
    }

    /// <summary>Null when the next server may be tried, else why not (nginx's proxy_next_upstream* rules).</summary>
    private string? MayTryNext()
    {
        var server = _settings.Server;
        if (!server.NextUpstream)
            return "proxy_next_upstream is off";
        if (server.NextUpstreamTries > 0 && _tried.Count >= server.NextUpstreamTries)
            return $"proxy_next_upstream_tries {server.NextUpstreamTries} reached";
        if (server.NextUpstreamTimeout > TimeSpan.Zero && Stopwatch.GetElapsedTime(_pickStarted) >= server.NextUpstreamTimeout)
            return $"proxy_next_upstream_timeout {server.NextUpstreamTimeout.TotalSeconds:0.###}s passed";
        return null;
    }

    /// <summary>Closes the client (and upstream) in an orderly way, logs why, and stops once the relay has ended.</summary>
    private void Close(string reason)
    {
        _log.Warning("{0} {1}", _id, reason);
        _relay!.Close();
        _state = State.Closing;
        StartTimeout(TimeSpan.FromSeconds(10));
    }

    private bool Closing(object message)
    {
        switch (message)
        {
            case RelayResult:
                StopOnceStagesEnded();
                return true;
            case ConnectionTimeout due when due == _timeout:
                _relay!.Abort(new TimeoutException("the connection did not close in time"));
                StopOnceStagesEnded();
                return true;
            default:
                return true; // whatever else arrives no longer matters
        }
    }

    /// <summary>
    /// The relay has ended, but the graph's other stages may still be at their last step (a write, a TLS close_notify,
    /// an abort on its way): this actor runs them, so it stops once they have, or after a last timeout, which stops
    /// whatever is left.
    /// </summary>
    private void StopOnceStagesEnded()
    {
        if (_stages?.IsTerminated != false)
        {
            Context.Stop(Self);
            return;
        }

        _state = State.Stopping;
        StartTimeout(TimeSpan.FromSeconds(10));
    }

    private bool Stopping(object message)
    {
        if (message is ConnectionTimeout due && due == _timeout)
            Context.Stop(Self);
        return true; // whatever else arrives no longer matters
    }

    /// <summary>The relay has already ended: log why and stop.</summary>
    private void Stopped(string reason, LogLevel level = LogLevel.WarningLevel)
    {
        _log.Log(level, "{0} {1}", [_id, reason]);
        StopOnceStagesEnded();
    }

    /// <summary>
    /// The client went away before the relay began: routine for a client, so an info line (nginx logs "client
    /// closed connection" at info too), not a warning.
    /// </summary>
    private void ClientLeft(string when, Exception? error = null) =>
        Stopped($"client {_client.RemoteAddress} closed the connection {when}{Because(error)}", LogLevel.InfoLevel);

    protected override void PostStop()
    {
        _stopped = true;
        CancelTimeout();
        if (_stages is null)
            _client.Socket.Dispose(); // never handed to a graph
        // The stages run on this actor's turns, which end here: whatever still runs stops now.
        if (_stages is { IsTerminated: false } stages)
            stages.Abort(new AbruptTerminationException(Self));
        // Also when no answer came: the balancer may still count an ask that is on its way.
        if (_server is not null || _acquire is not null)
            _settings.Ledger.Tell(new ConnectionLedger.Untrack(_upstream, _id));
        // Its sockets are closed by now: room for the next connection (the listener counted this one in).
        _settings.Limit.Closed();
    }

    private static string Because(Exception? error) => error is null ? "" : $" ({Describe(error)})";

    private static Exception Unwrap(Exception error)
    {
        while (error is AggregateException { InnerException: { } single })
            error = single;
        return error;
    }

    private static string Describe(RelayResult ended) => ended.Error switch
    {
        null => "closed",
        IdleTimeoutException e => $"timed out: {e.Message}",
        { } e => $"closed with an error: {Describe(e)}",
    };

    private static string Describe(Exception error)
    {
        error = Unwrap(error);
        return error.InnerException is { } inner && inner.Message != error.Message ? $"{error.Message}: {inner.Message}" : error.Message;
    }

    private sealed record HandshakeDone(TlsSessionInfo? Session);

    private sealed record HandshakeFailed(Exception Error);

    private sealed class UpstreamConnected
    {
        public static readonly UpstreamConnected Instance = new();
    }

    private sealed record UpstreamFailed(string Server, Exception Error);
}
