using System.Net;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;

namespace StreamLb.Relay;

/// <summary>
/// The plain-text end of a client connection: waits until the connection actor attaches an upstream connection,
/// then relays bytes both ways with backpressure (one element in flight per direction, no buffer of its own).
/// With half-close on, a side that finishes writing is passed on and the other direction keeps going; with it off,
/// either side finishing closes both. Closes after <c>proxy_timeout</c> with no bytes in either direction.
/// Materializes a <see cref="RelayControl"/>.
/// </summary>
public sealed class RelayStage : GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, RelayControl>
{
    private readonly TimeSpan _idleTimeout;
    private readonly bool _halfClose;

    public RelayStage(TimeSpan idleTimeout, bool halfClose)
    {
        _idleTimeout = idleTimeout;
        _halfClose = halfClose;
        Shape = new FlowShape<ByteString, ByteString>(FromClient, ToClient);
    }

    public Inlet<ByteString> FromClient { get; } = new("relay.fromClient");
    public Outlet<ByteString> ToClient { get; } = new("relay.toClient");
    public override FlowShape<ByteString, ByteString> Shape { get; }

    public static Flow<ByteString, ByteString, RelayControl> Create(TimeSpan idleTimeout, bool halfClose) =>
        Flow.FromGraph(new RelayStage(idleTimeout, halfClose));

    public override ILogicAndMaterializedValue<RelayControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var control = new RelayControl();
        return new LogicAndMaterializedValue<RelayControl>(new Logic(this, control), control);
    }

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string IdleTimer = "idle";
        private readonly RelayStage _stage;
        private readonly RelayControl _control;
        private SubSinkInlet<ByteString>? _fromUpstream;
        private SubSourceOutlet<ByteString>? _toUpstream;
        private RelayControl.ConnectAttempt? _attempt;
        private readonly List<Action> _beforeConnected = [];
        private bool _relaying;
        private long _bytesFromClient;
        private long _bytesFromUpstream;
        private long _lastActivity;
        private Exception? _error;

        public Logic(RelayStage stage, RelayControl control) : base(stage.Shape)
        {
            _stage = stage;
            _control = control;
            SetHandler(stage.FromClient,
                onPush: () =>
                {
                    var data = Grab(stage.FromClient);
                    _bytesFromClient += data.Count;
                    _lastActivity = Environment.TickCount64;
                    _toUpstream!.Push(data);
                },
                onUpstreamFinish: () =>
                {
                    if (!_relaying)
                        return; // handled when the upstream connects: FromClient is closed by then
                    _toUpstream!.Complete();
                    if (!stage._halfClose)
                        CloseBoth();
                    CompleteIfDone();
                },
                onUpstreamFailure: Abort);
            SetHandler(stage.ToClient,
                onPull: () =>
                {
                    if (_relaying && !_fromUpstream!.HasBeenPulled && !_fromUpstream.IsClosed)
                        _fromUpstream.Pull();
                },
                onDownstreamFinish: cause =>
                {
                    // The client can take no more bytes: nothing the upstream sends can be delivered.
                    if (cause is not SubscriptionWithCancelException.NonFailureCancellation && cause is not null)
                        _error ??= cause;
                    CloseBoth();
                    CompleteIfDone();
                });
        }

        public override void PreStart() =>
            _control.Started(GetAsyncCallback<RelayControl.ConnectAttempt>(Connect), GetAsyncCallback<Exception?>(OnControlClose));

        private void Connect(RelayControl.ConnectAttempt attempt)
        {
            if (_attempt is not null || _relaying)
            {
                attempt.Connected.TrySetException(new InvalidOperationException("the relay is already connecting or connected"));
                return;
            }

            _attempt = attempt;
            _beforeConnected.Clear();
            var fromUpstream = new SubSinkInlet<ByteString>(this, "relay.fromUpstream");
            var toUpstream = new SubSourceOutlet<ByteString>(this, "relay.toUpstream");
            // Until the connection is established, what the upstream side signals waits: the connect task decides.
            fromUpstream.SetHandler(new LambdaInHandler(
                onPush: () =>
                {
                    var data = fromUpstream.Grab();
                    _bytesFromUpstream += data.Count;
                    _lastActivity = Environment.TickCount64;
                    Push(_stage.ToClient, data);
                },
                onUpstreamFinish: () => WhenConnected(UpstreamFinished),
                onUpstreamFailure: e => WhenConnected(() => Abort(e))));
            toUpstream.SetHandler(new LambdaOutHandler(
                onPull: () =>
                {
                    if (_relaying && !HasBeenPulled(_stage.FromClient) && !IsClosed(_stage.FromClient))
                        Pull(_stage.FromClient);
                },
                onDownstreamFinish: _ => WhenConnected(UpstreamStoppedReading)));
            _fromUpstream = fromUpstream;
            _toUpstream = toUpstream;

            var connected = Source.FromGraph(toUpstream.Source)
                .ViaMaterialized(attempt.Upstream, Keep.Right)
                .To(fromUpstream.Sink)
                .Run(SubFusingMaterializer);
            var onConnected = GetAsyncCallback<Task<EndPoint>>(t => OnConnected(attempt, t));
            connected.ContinueWith(onConnected, TaskContinuationOptions.ExecuteSynchronously);
        }

        private void WhenConnected(Action action)
        {
            if (_relaying)
                action();
            else
                _beforeConnected.Add(action);
        }

        private void OnConnected(RelayControl.ConnectAttempt attempt, Task<EndPoint> task)
        {
            if (!ReferenceEquals(attempt, _attempt))
                return;
            _attempt = null;
            if (task.Exception is { } error)
            {
                // Nothing was sent upstream yet, so the connection actor may try another server with this relay.
                if (!_fromUpstream!.IsClosed)
                    _fromUpstream.Cancel();
                if (!_toUpstream!.IsClosed)
                    _toUpstream.Complete();
                _fromUpstream = null;
                _toUpstream = null;
                attempt.Connected.TrySetException(error.InnerException ?? error);
                return;
            }

            _relaying = true;
            _lastActivity = Environment.TickCount64;
            if (_stage._idleTimeout > TimeSpan.Zero)
                ScheduleOnce(IdleTimer, _stage._idleTimeout);
            attempt.Connected.TrySetResult(task.Result);

            foreach (var action in _beforeConnected)
                action();
            _beforeConnected.Clear();
            if (IsClosed(_stage.FromClient))
            {
                if (!_toUpstream!.IsClosed)
                    _toUpstream.Complete();
                if (!_stage._halfClose)
                    CloseBoth();
            }
            else if (_toUpstream!.IsAvailable && !HasBeenPulled(_stage.FromClient))
            {
                Pull(_stage.FromClient);
            }

            if (IsClosed(_stage.ToClient))
                CloseBoth();
            else if (IsAvailable(_stage.ToClient) && !_fromUpstream!.IsClosed && !_fromUpstream.HasBeenPulled)
                _fromUpstream.Pull();
            CompleteIfDone();
        }

        private void UpstreamFinished()
        {
            Complete(_stage.ToClient);
            if (!_stage._halfClose)
                CloseBoth();
            CompleteIfDone();
        }

        private void UpstreamStoppedReading()
        {
            if (!IsClosed(_stage.FromClient))
                Cancel(_stage.FromClient);
            if (!_stage._halfClose)
                CloseBoth();
            CompleteIfDone();
        }

        protected override void OnTimer(object timerKey)
        {
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastActivity);
            if (idle >= _stage._idleTimeout)
                Close(new IdleTimeoutException(_stage._idleTimeout));
            else
                ScheduleOnce(IdleTimer, _stage._idleTimeout - idle);
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
            if (_toUpstream is { IsClosed: false })
                _toUpstream.Fail(error);
            if (_fromUpstream is { IsClosed: false })
                _fromUpstream.Cancel();
            FailStage(error);
        }

        private void CloseBoth()
        {
            if (_toUpstream is { IsClosed: false })
                _toUpstream.Complete();
            if (_fromUpstream is { IsClosed: false })
                _fromUpstream.Cancel();
            if (!IsClosed(_stage.FromClient))
                Cancel(_stage.FromClient);
            if (!IsClosed(_stage.ToClient))
                Complete(_stage.ToClient);
        }

        private void CompleteIfDone()
        {
            var upstreamDone = _fromUpstream is null or { IsClosed: true } && _toUpstream is null or { IsClosed: true };
            if (IsClosed(_stage.FromClient) && IsClosed(_stage.ToClient) && upstreamDone)
                CompleteStage();
        }

        public override void PostStop()
        {
            var stopped = _error ?? new IOException("the relay stopped before an upstream was connected");
            _attempt?.Connected.TrySetException(stopped);
            _control.Stopped(new RelayResult(_bytesFromClient, _bytesFromUpstream, _error));
        }
    }
}
