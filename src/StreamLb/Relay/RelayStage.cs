using System.Net;
using Akka.IO;
using Tcp = Akka.Streams.Dsl.Tcp;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;

namespace StreamLb.Relay;

/// <summary>
/// The plain-text end of a client connection: waits until the connection actor attaches an upstream connection,
/// then relays bytes both ways with backpressure, passes half-close through, and fails after
/// <c>proxy_timeout</c> with no bytes in either direction. Counts bytes. Materializes a <see cref="RelayControl"/>.
/// </summary>
public sealed class RelayStage : GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, RelayControl>
{
    private readonly TimeSpan _idleTimeout;

    public RelayStage(TimeSpan idleTimeout)
    {
        _idleTimeout = idleTimeout;
        Shape = new FlowShape<ByteString, ByteString>(FromClient, ToClient);
    }

    public Inlet<ByteString> FromClient { get; } = new("relay.fromClient");
    public Outlet<ByteString> ToClient { get; } = new("relay.toClient");
    public override FlowShape<ByteString, ByteString> Shape { get; }

    public static Flow<ByteString, ByteString, RelayControl> Create(TimeSpan idleTimeout) => Flow.FromGraph(new RelayStage(idleTimeout));

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
        private bool _relaying;
        private bool _clientFinished;
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
                    _clientFinished = true;
                    if (_relaying)
                        _toUpstream!.Complete();
                    CompleteIfDone();
                },
                onUpstreamFailure: Fail);
            SetHandler(stage.ToClient,
                onPull: () =>
                {
                    if (_relaying && !_fromUpstream!.HasBeenPulled && !_fromUpstream.IsClosed)
                        _fromUpstream.Pull();
                },
                onDownstreamFinish: _ =>
                {
                    _fromUpstream?.Cancel();
                    CompleteIfDone();
                });
        }

        public override void PreStart() =>
            _control.Started(GetAsyncCallback<RelayControl.ConnectAttempt>(Connect), GetAsyncCallback<Exception>(Fail));

        private void Connect(RelayControl.ConnectAttempt attempt)
        {
            if (_attempt is not null || _relaying)
            {
                attempt.Connected.TrySetException(new InvalidOperationException("the relay is already connecting or connected"));
                return;
            }

            _attempt = attempt;
            var fromUpstream = new SubSinkInlet<ByteString>(this, "relay.fromUpstream");
            var toUpstream = new SubSourceOutlet<ByteString>(this, "relay.toUpstream");
            fromUpstream.SetHandler(new LambdaInHandler(
                onPush: () =>
                {
                    var data = fromUpstream.Grab();
                    _bytesFromUpstream += data.Count;
                    _lastActivity = Environment.TickCount64;
                    Push(_stage.ToClient, data);
                },
                onUpstreamFinish: () =>
                {
                    if (!_relaying)
                    {
                        AttemptFailed(attempt, new IOException("the upstream closed before the connection was established"));
                        return;
                    }

                    Complete(_stage.ToClient);
                    CompleteIfDone();
                },
                onUpstreamFailure: e =>
                {
                    if (_relaying)
                        Fail(e);
                    else
                        AttemptFailed(attempt, e);
                }));
            toUpstream.SetHandler(new LambdaOutHandler(
                onPull: () =>
                {
                    if (_relaying && !HasBeenPulled(_stage.FromClient) && !IsClosed(_stage.FromClient))
                        Pull(_stage.FromClient);
                },
                onDownstreamFinish: cause =>
                {
                    if (!_relaying)
                        AttemptFailed(attempt, cause as Exception ?? new IOException("the upstream connection closed"));
                    else if (!IsClosed(_stage.FromClient))
                        Cancel(_stage.FromClient);
                    CompleteIfDone();
                }));
            _fromUpstream = fromUpstream;
            _toUpstream = toUpstream;

            var connected = Source.FromGraph(toUpstream.Source)
                .ViaMaterialized(attempt.Upstream, Keep.Right)
                .To(fromUpstream.Sink)
                .Run(SubFusingMaterializer);
            var onConnected = GetAsyncCallback<Task<Tcp.OutgoingConnection>>(t => OnConnected(attempt, t));
            connected.ContinueWith(onConnected, TaskContinuationOptions.ExecuteSynchronously);
        }

        private void OnConnected(RelayControl.ConnectAttempt attempt, Task<Tcp.OutgoingConnection> task)
        {
            if (!ReferenceEquals(attempt, _attempt))
                return;
            if (task.Exception is { } error)
            {
                AttemptFailed(attempt, error.InnerException ?? error);
                return;
            }

            _attempt = null;
            _relaying = true;
            _lastActivity = Environment.TickCount64;
            if (_stage._idleTimeout > TimeSpan.Zero)
                ScheduleOnce(IdleTimer, _stage._idleTimeout);
            attempt.Connected.TrySetResult(task.Result.LocalAddress);

            if (_clientFinished)
                _toUpstream!.Complete();
            else if (_toUpstream!.IsAvailable && !HasBeenPulled(_stage.FromClient))
                Pull(_stage.FromClient);
            if (IsClosed(_stage.ToClient))
                _fromUpstream!.Cancel();
            else if (IsAvailable(_stage.ToClient))
                _fromUpstream!.Pull();
        }

        private void AttemptFailed(RelayControl.ConnectAttempt attempt, Exception error)
        {
            if (!ReferenceEquals(attempt, _attempt))
                return;
            _attempt = null;
            if (!_fromUpstream!.IsClosed)
                _fromUpstream.Cancel();
            if (!_toUpstream!.IsClosed)
                _toUpstream.Complete();
            _fromUpstream = null;
            _toUpstream = null;
            attempt.Connected.TrySetException(error);
        }

        protected override void OnTimer(object timerKey)
        {
            var idle = TimeSpan.FromMilliseconds(Environment.TickCount64 - _lastActivity);
            if (idle >= _stage._idleTimeout)
                Fail(new IdleTimeoutException(_stage._idleTimeout));
            else
                ScheduleOnce(IdleTimer, _stage._idleTimeout - idle);
        }

        private void Fail(Exception error)
        {
            _error ??= error;
            FailStage(error);
        }

        private void CompleteIfDone()
        {
            if (IsClosed(_stage.FromClient) && IsClosed(_stage.ToClient))
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
