using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using StreamLb.Connections;

namespace StreamLb.Relay;

/// <summary>
/// The middle of a connection: plain text from the client goes to the upstream connection and back, with
/// backpressure (one element in flight per direction, no buffer of its own). The upstream side is a socket stage
/// the connection actor connects once a server is picked; until then it asks for nothing, so no client byte leaves
/// before the connect succeeded and a failed connect may be retried with another server. The client is read from
/// the start, one element held until the upstream asks: a client that leaves or fails while the connect is under
/// way ends the relay then, not when the connect is over (as nginx notices it "while connecting to upstream"). With half-close on, a
/// side that finishes writing is passed on and the other direction keeps going; with it off, either side finishing
/// closes both. Closes after <c>proxy_timeout</c> with no bytes in either direction, counted from the connect.
/// Materializes a <see cref="RelayControl"/>.
/// </summary>
public sealed class RelayStage : GraphStageWithMaterializedValue<BidiShape<ByteString, ByteString, ByteString, ByteString>, RelayControl>
{
    private readonly TimeSpan _idleTimeout;
    private readonly bool _halfClose;

    public RelayStage(TimeSpan idleTimeout, bool halfClose)
    {
        _idleTimeout = idleTimeout;
        _halfClose = halfClose;
        Shape = new BidiShape<ByteString, ByteString, ByteString, ByteString>(FromClient, ToUpstream, FromUpstream, ToClient);
    }

    public Inlet<ByteString> FromClient { get; } = new("relay.fromClient");
    public Outlet<ByteString> ToUpstream { get; } = new("relay.toUpstream");
    public Inlet<ByteString> FromUpstream { get; } = new("relay.fromUpstream");
    public Outlet<ByteString> ToClient { get; } = new("relay.toClient");
    public override BidiShape<ByteString, ByteString, ByteString, ByteString> Shape { get; }

    /// <summary>The stage as a BidiFlow: client side first (in from the client, out to the upstream), upstream side second.</summary>
    public static BidiFlow<ByteString, ByteString, ByteString, ByteString, RelayControl> Create(TimeSpan idleTimeout, bool halfClose) =>
        BidiFlow.FromGraph(new RelayStage(idleTimeout, halfClose));

    public override ILogicAndMaterializedValue<RelayControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var control = new RelayControl();
        return new LogicAndMaterializedValue<RelayControl>(new Logic(this, control), control);
    }

    // The logic handles the client side's ports itself (bytes from the client, demand from the upstream socket), and
    // UpstreamSide the other two: no delegates made per connection for them.
    private sealed class Logic : InAndOutGraphStageLogic
    {
        private readonly RelayStage _stage;
        private readonly RelayControl _control;
        private bool _relaying;
        private bool _clientFinished;
        private long _bytesFromClient;
        private long _bytesFromUpstream;
        private long _lastActivity;
        private Exception? _error;
        private Action<object?>? _onEvent;
        private ConnectionTimeout? _idleTimer;

        // Two inlets, two outlets. Not base(stage.Shape), which builds the shape's name as a log source: a string per
        // connection, and this stage does not log.
        public Logic(RelayStage stage, RelayControl control) : base(inCount: 2, outCount: 2)
        {
            _stage = stage;
            _control = control;
            SetHandler(stage.FromClient, this);
            SetHandler(stage.ToUpstream, this);
            var upstreamSide = new UpstreamSide(this);
            SetHandler(stage.FromUpstream, upstreamSide);
            SetHandler(stage.ToClient, upstreamSide);
        }

        // Bytes from the client.
        public override void OnPush()
        {
            if (IsAvailable(_stage.ToUpstream))
                ForwardFromClient();
        }

        public override void OnUpstreamFinish()
        {
            if (IsAvailable(_stage.FromClient))
                _clientFinished = true; // once the held element has gone
            else
                ClientFinished();
        }

        public override void OnUpstreamFailure(Exception e) => Abort(e);

        // Demand from the upstream socket.
        public override void OnPull()
        {
            // The upstream socket asks only once it is connected: from here on the relay runs.
            if (!_relaying)
                StartRelaying();
            if (IsAvailable(_stage.FromClient))
                ForwardFromClient();
            if (_clientFinished)
                ClientFinished();
            else if (!HasBeenPulled(_stage.FromClient) && !IsClosed(_stage.FromClient))
                Pull(_stage.FromClient);
        }

        public override void OnDownstreamFinish(Exception cause)
        {
            // The upstream takes no more bytes.
            NoteCancelCause(cause);
            if (!IsClosed(_stage.FromClient))
                Cancel(_stage.FromClient);
            if (!_stage._halfClose)
                CloseBoth();
            CompleteIfDone();
        }

        /// <summary>Bytes from the upstream socket, and demand from the client's side.</summary>
        private sealed class UpstreamSide(Logic logic) : InAndOutHandler
        {
            private RelayStage Stage => logic._stage;

            public override void OnPush()
            {
                var data = logic.Grab(Stage.FromUpstream);
                logic._bytesFromUpstream += data.Count;
                logic._lastActivity = Environment.TickCount64;
                logic.Push(Stage.ToClient, data);
            }

            public override void OnUpstreamFinish()
            {
                logic.Complete(Stage.ToClient);
                if (!Stage._halfClose)
                    logic.CloseBoth();
                logic.CompleteIfDone();
            }

            public override void OnUpstreamFailure(Exception e) => logic.Abort(e);

            public override void OnPull()
            {
                if (!logic.HasBeenPulled(Stage.FromUpstream) && !logic.IsClosed(Stage.FromUpstream))
                    logic.Pull(Stage.FromUpstream);
            }

            public override void OnDownstreamFinish(Exception cause)
            {
                // The client can take no more bytes: nothing the upstream sends can be delivered.
                logic.NoteCancelCause(cause);
                logic.CloseBoth();
                logic.CompleteIfDone();
            }
        }

        private void NoteCancelCause(Exception? cause)
        {
            if (cause is not SubscriptionWithCancelException.NonFailureCancellation && cause is not null)
                _error ??= cause;
        }

        public override void PreStart()
        {
            // The control's close (null, or the error to abort with) and the idle timeout come back through one callback.
            _onEvent = GetAsyncCallback<object?>(OnEvent);
            _control.Started(_onEvent);
            Pull(_stage.FromClient);
        }

        private void ForwardFromClient()
        {
            var data = Grab(_stage.FromClient);
            _bytesFromClient += data.Count;
            _lastActivity = Environment.TickCount64;
            Push(_stage.ToUpstream, data);
        }

        private void ClientFinished()
        {
            _clientFinished = false;
            // A connect still under way sends FIN once it is established (with half-close on; off, the relay ends).
            Complete(_stage.ToUpstream);
            if (!_stage._halfClose)
                CloseBoth();
            CompleteIfDone();
        }

        private void StartRelaying()
        {
            _relaying = true;
            _lastActivity = Environment.TickCount64;
            if (_stage._idleTimeout > TimeSpan.Zero)
                StartIdleTimeout(_stage._idleTimeout);
        }

        private void StartIdleTimeout(TimeSpan after) =>
            _idleTimer = ConnectionTimeout.Start(Materializer, after, _onEvent!);

        private void OnEvent(object? what)
        {
            if (what is ConnectionTimeout due)
                OnIdleTimeout(due);
            else
                OnControlClose((Exception?)what);
        }

        private void OnIdleTimeout(ConnectionTimeout due)
        {
            if (due != _idleTimer)
                return;
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastActivity);
            if (idle >= _stage._idleTimeout)
                Close(new IdleTimeoutException(_stage._idleTimeout));
            else
                StartIdleTimeout(_stage._idleTimeout - idle);
        }

        private void OnControlClose(Exception? abortWith)
        {
            if (abortWith is null)
                Close(null);
            else
                Abort(abortWith);
        }

        /// <summary>Ends the relay gracefully: both sides get an orderly close; <paramref name="reason"/> is reported.</summary>
        private void Close(Exception? reason)
        {
            _error ??= reason;
            CloseBoth();
            CompleteStage();
        }

        /// <summary>Ends the relay with an error: both sides are aborted.</summary>
        private void Abort(Exception error)
        {
            _error ??= error;
            FailStage(error);
        }

        private void CloseBoth()
        {
            if (!IsClosed(_stage.ToUpstream))
                Complete(_stage.ToUpstream);
            if (!IsClosed(_stage.FromUpstream))
                Cancel(_stage.FromUpstream);
            if (!IsClosed(_stage.FromClient))
                Cancel(_stage.FromClient);
            if (!IsClosed(_stage.ToClient))
                Complete(_stage.ToClient);
        }

        private void CompleteIfDone()
        {
            if (IsClosed(_stage.FromClient) && IsClosed(_stage.ToClient) && IsClosed(_stage.FromUpstream) && IsClosed(_stage.ToUpstream))
                CompleteStage();
        }

        public override void PostStop()
        {
            _idleTimer?.Cancel();
            _control.Stopped(new RelayResult(_bytesFromClient, _bytesFromUpstream, _error));
        }
    }
}
