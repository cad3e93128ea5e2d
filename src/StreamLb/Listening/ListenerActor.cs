using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using StreamLb.Connections;
using StreamLb.Relay;

namespace StreamLb.Listening;

/// <summary>
/// Owns one bound socket (<c>listen</c>): accepts connections and makes each the child of this actor, which hands it
/// the socket. A failing connection actor is stopped, never restarted, and touches no other.
/// </summary>
public sealed class ListenerActor : ReceiveActor, IWithTimers
{
    private const int Backlog = 511;

    /// <summary>Most connections taken from the backlog in one go before other messages get a turn.</summary>
    private const int AcceptBatch = 32;

    /// <summary>Names a connection actor, with the connection's number.</summary>
    private const string ConnectionPrefix = "c";

    private static readonly TimeSpan AcceptRetry = TimeSpan.FromMilliseconds(100);

    /// <summary>At most one warning per this long that the node is at its connection limit.</summary>
    private static readonly TimeSpan FullWarningEvery = TimeSpan.FromSeconds(10);

    private readonly ListenerSettings _settings;
    private readonly Func<long> _nextConnectionNumber;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ConnectionGraph? _graph;
    private Props? _connectionProps;
    private Socket? _listening;

    // The accept under way (default when none), if it did not complete at once, and how its completion tells this
    // actor (made once).
    private ValueTask<Socket> _accepting;
    private Action? _onAccepted;
    private EndPoint? _bound;
    private Exception? _bindError;
    private long _lastFullWarning;

    public ListenerActor(ListenerSettings settings, Func<long> nextConnectionNumber)
    {
        _settings = settings;
        _nextConnectionNumber = nextConnectionNumber;

        Receive<AcceptDone>(_ =>
        {
            // Read once, as a socket's reusable accept must be, and before the next accept starts.
            var accepting = _accepting;
            _accepting = default;
            Socket accepted;
            try
            {
                accepted = accepting.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                AcceptFailed(e);
                return;
            }

            Start(accepted);
            AcceptMore();
        });
        Receive<AcceptNext>(_ => AcceptMore());
        Receive<StopAccepting>(_ =>
        {
            if (_listening is not null)
            {
                StopListening();
                _log.Info("stopped accepting on {0}; its connections go on", _bound);
            }

            Sender.Tell(Akka.Done.Instance);
        });
        Receive<GetBinding>(_ => Sender.Tell(_bound is { } bound ? new Bound(bound) : new Status.Failure(_bindError!)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ListenerSettings settings, Func<long> nextConnectionNumber) =>
        Akka.Actor.Props.Create(() => new ListenerActor(settings, nextConnectionNumber));

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(e =>
        {
            _log.Error(e, "a connection actor failed and was stopped: {0}", e.Message);
            return Directive.Stop;
        });

    protected override void PreStart()
    {
        // Connection graphs run where their sockets wake them (see RelayDispatcher), when the node's config has it.
        var settings = ActorMaterializerSettings.Create(Context.System);
        if (Context.System.Dispatchers.HasDispatcher(RelayDispatcher.Id))
            settings = settings.WithDispatcher(RelayDispatcher.Id);
        _graph = new ConnectionGraph(_settings, Context.Materializer(settings));
        // On the relay dispatcher too: a connection actor's messages mostly come from its graph's callbacks and the balancer.
        _connectionProps = ConnectionActor.Template(Context.System);
        var listen = _settings.Listen;
        var address = IPAddress.Parse(listen.Host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, listen.Port));
            socket.Listen(Backlog);
        }
        catch (SocketException e)
        {
            // The node's start-up asks for the binding and fails with this; the actor stays to answer it.
            socket.Dispose();
            _log.Error(e, "cannot listen on {0}: {1}", listen, e.Message);
            _bindError = new InvalidOperationException($"cannot listen on {listen}: {e.Message}", e);
            return;
        }

        _listening = socket;
        _bound = socket.LocalEndPoint!;
        var self = Self;
        _onAccepted = () => self.Tell(AcceptDone.Instance);
        _log.Info("listening on {0}{1} for upstream \"{2}\"", _bound, _settings.Tls is null ? "" : " (ssl)", _settings.Server.ProxyPass);
        AcceptMore();
    }

    /// <summary>Takes what waits in the backlog (up to a batch), then waits for the next connection.</summary>
    private void AcceptMore()
    {
        if (_listening is not { } listening || _accepting != default)
            return;
        for (var i = 0; i < AcceptBatch; i++)
        {
            if (_settings.Limit.IsFull)
            {
                WaitForRoom();
                return;
            }

            var accepting = listening.AcceptAsync(CancellationToken.None);
            if (!accepting.IsCompleted)
            {
                // Told on the thread that completes it (no task made for it, no continuation queued).
                _accepting = accepting;
                accepting.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onAccepted!);
                return;
            }

            if (!accepting.IsCompletedSuccessfully)
            {
                AcceptFailed(accepting.AsTask().Exception?.GetBaseException());
                return;
            }

            Start(accepting.Result);
        }

        // More may be waiting: let other messages in first, then go on.
        Self.Tell(AcceptNext.Instance);
    }

    /// <summary>
    /// The node holds as many connections as it takes (<see cref="ConnectionLimit"/>): new ones wait in the backlog
    /// (beyond it the system refuses them) until one ends, and the node goes on with those it has.
    /// </summary>
    private void WaitForRoom()
    {
        var limit = _settings.Limit;
        if (Stopwatch.GetElapsedTime(_lastFullWarning) >= FullWarningEvery)
        {
            _lastFullWarning = Stopwatch.GetTimestamp();
            _log.Warning("{0} connections open, the most this node takes ({1}; open-file limit {2}): accepting on {3} again when one ends",
                limit.Open, limit.Max, limit.FileLimit?.ToString() ?? "unknown", _bound);
        }

        limit.WhenRoom(Self, AcceptNext.Instance);
    }

    /// <summary>
    /// An accept failed: after a stop that is the closed socket, and nothing more is to be done; otherwise (out of file
    /// descriptors, say) the listener tries again shortly, as nginx does, rather than stop accepting for good.
    /// </summary>
    private void AcceptFailed(Exception? error)
    {
        if (_listening is null)
            return;
        _log.Error(error, "accept on {0} failed: {1}; trying again in {2} ms", _settings.Listen, error?.Message, AcceptRetry.TotalMilliseconds);
        Timers.StartSingleTimer(AcceptNext.Instance, AcceptNext.Instance, AcceptRetry);
    }

    /// <summary>Starts a connection actor for an accepted socket, which it hands over.</summary>
    private void Start(Socket socket)
    {
        EndPoint remote, local;
        try
        {
            remote = socket.RemoteEndPoint!;
            local = socket.LocalEndPoint!;
        }
        catch (SocketException)
        {
            socket.Dispose(); // reset before it could be served
            return;
        }

        _settings.Limit.Opened();
        var number = _nextConnectionNumber();
        var id = $"{_settings.Node}#{number}";
        var connection = new AcceptedConnection(socket, remote, local);
        var props = ConnectionActor.Props(_connectionProps!, _settings, _graph!, connection, id, _log);
        Context.ActorOf(props, $"{ConnectionPrefix}{number}");
    }

    protected override void PostStop() => StopListening();

    /// <summary>
    /// Closes the listening socket: the system refuses new connections from then on (and resets those still in the
    /// backlog), as nginx's do once it is told to quit. An accept under way ends with an error that finds no socket.
    /// </summary>
    private void StopListening()
    {
        var listening = _listening;
        _listening = null;
        Timers.Cancel(AcceptNext.Instance);
        listening?.Dispose();
    }

    /// <summary>Asks for the bound address; answered with <see cref="Bound"/>.</summary>
    public sealed class GetBinding
    {
        public static readonly GetBinding Instance = new();
    }

    public sealed record Bound(EndPoint LocalAddress);

    /// <summary>
    /// Tells the listener to stop accepting (a node that is stopping): it closes its socket and answers
    /// <see cref="Akka.Done"/>; its connections go on.
    /// </summary>
    public sealed class StopAccepting
    {
        public static readonly StopAccepting Instance = new();
    }

    private sealed class AcceptDone
    {
        public static readonly AcceptDone Instance = new();
    }

    private sealed class AcceptNext
    {
        public static readonly AcceptNext Instance = new();
    }
}
