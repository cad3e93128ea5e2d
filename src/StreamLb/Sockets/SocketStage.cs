using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using StreamLb.Connections;

namespace StreamLb.Sockets;

/// <summary>
/// One TCP socket as an Akka.Streams flow: what is pushed in is sent, what arrives is pushed out. Reads happen only
/// on demand; while nothing arrives the stage waits with a zero-byte receive and holds no buffer, and a read borrows a
/// pooled buffer only for the moment the bytes are copied out. Sends go out at once while the socket has room; what
/// does not fit waits for an asynchronous send, and the next element is pulled only after it, so a slow peer slows
/// the sender (backpressure). Both directions close on their own: the input finishing sends FIN once everything was
/// sent (or leaves it to the close, see <see cref="SendsFinWhenInputEnds"/>), end of stream from the peer completes
/// the output; the stage stops, and closes the socket, when both are done. A failing input, or
/// a failure cancelling the output, aborts the connection (RST).
/// The socket is attached or connected through the materialized <see cref="SocketConnector"/>; until then the stage
/// asks for nothing and pushes nothing, and a failed connect may be retried.
/// </summary>
public sealed class SocketStage : GraphStageWithMaterializedValue<FlowShape<ByteString, ByteString>, SocketConnector>
{
    /// <summary>Most bytes taken in one read.</summary>
    public const int ReadSize = 64 * 1024;

    private readonly (EndPoint Remote, TimeSpan Timeout)? _connectAtStart;

    /// <summary>A socket that the materialized <see cref="SocketConnector"/> connects or attaches (see <see cref="Create"/>).</summary>
    public SocketStage() : this(null)
    {
    }

    private SocketStage((EndPoint Remote, TimeSpan Timeout)? connectAtStart)
    {
        _connectAtStart = connectAtStart;
        Shape = new FlowShape<ByteString, ByteString>(ToSend, Received);
    }

    /// <summary>
    /// Whether the input's end is passed on at once, as FIN (the default). False for a socket under a protocol that says
    /// its end itself, as TLS does with close_notify: the FIN then goes with the close, once both directions are done,
    /// as nginx's TLS connections close (a segment and a system call fewer per connection).
    /// </summary>
    public bool SendsFinWhenInputEnds { get; init; } = true;

    public Inlet<ByteString> ToSend { get; } = new("socket.toSend");
    public Outlet<ByteString> Received { get; } = new("socket.received");
    public override FlowShape<ByteString, ByteString> Shape { get; }

    /// <summary>
    /// A socket that the materialized <see cref="SocketConnector"/> connects (an upstream, once a server is picked)
    /// or attaches (a client the listener accepted).
    /// </summary>
    public static Flow<ByteString, ByteString, SocketConnector> Create() => Flow.FromGraph(new SocketStage());

    /// <summary>
    /// Connects to <paramref name="remote"/> when materialized: its value is the local address once connected. A failed
    /// connect fails the stage (there is no one to try again).
    /// </summary>
    public static Flow<ByteString, ByteString, Task<EndPoint>> Outgoing(EndPoint remote, TimeSpan connectTimeout) =>
        Flow.FromGraph(new SocketStage((remote, connectTimeout)))
            .MapMaterializedValue(connector => connector.Connected);

    public override ILogicAndMaterializedValue<SocketConnector> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var connector = new SocketConnector();
        return new LogicAndMaterializedValue<SocketConnector>(new Logic(this, connector), connector);
    }

    private sealed class Logic : InAndOutGraphStageLogic
    {
        // What a socket completion tells the stage (a connect attempt tells itself).
        private static readonly object ReadableEvent = new();
        private static readonly object SentEvent = new();
        private static readonly object ConnectDoneEvent = new();

        private readonly SocketStage _stage;
        private readonly SocketConnector _connector;
        private Socket? _socket;
        private SocketConnector.ConnectAttempt? _attempt;
        private Action<object>? _onSocketEvent;
        private Action? _onConnected;
        private Action? _onReadable;
        private Action? _onSent;
        private ConnectionTimeout? _connectTimer;
        private ValueTask _connecting;
        private ValueTask<int> _waitingForData;
        private ValueTask<int> _sending;
        private byte[]? _unsent;
        private bool _isConnected;
        private bool _waiting;
        private bool _drained;
        private bool _writing;
        private bool _abort;
        private bool _sendFailed;
        private bool _peerFinished;
        private volatile bool _stopped;

        // A socket the stopped stage shut down while a receive was still waiting for data: closed once that wait ends.
        private Socket? _closeAfterWait;

        // One inlet, one outlet. Not base(stage.Shape), which builds the shape's name as a log source: a string per
        // stage and connection, and this stage does not log. The logic handles both ports itself: no delegates made
        // per connection for them.
        public Logic(SocketStage stage, SocketConnector connector) : base(inCount: 1, outCount: 1)
        {
            _stage = stage;
            _connector = connector;
            SetHandler(stage.ToSend, this);
            SetHandler(stage.Received, this);
        }

        // Elements to send.
        public override void OnPush() => Send(Grab(_stage.ToSend));

        public override void OnUpstreamFinish()
        {
            // Before the connect there is nothing to shut down: Connected does it.
            if (!_writing)
                ShutdownSend();
        }

        public override void OnUpstreamFailure(Exception e) => Abort(e);

        // Demand for received bytes.
        public override void OnPull() => Read();

        public override void OnDownstreamFinish(Exception cause)
        {
            if (cause is not null and not SubscriptionWithCancelException.NonFailureCancellation)
                Abort(cause);
            else
                CompleteIfDone();
        }

        public override void PreStart()
        {
            // Socket completions run on the socket engine's or the pool's threads, and connect attempts and the
            // connect's timeout come from any thread: all come back through one callback, which says what happened.
            // Each completion's own delegate is made when first needed (an accepted socket never connects; most sends
            // complete at once).
            _onSocketEvent = GetAsyncCallback<object>(OnSocketEvent);
            _onReadable = ReadableCompleted;
            _connector.Started(_onSocketEvent); // an attempt is its own event
            if (_stage._connectAtStart is var (remote, timeout))
                _connector.Connect(remote, timeout); // a failure fails the stage (ConnectFailed)
        }

        // Socket completions: each tells the stage what completed, unless it has stopped.
        private void ReadableCompleted()
        {
            if (!_stopped)
                _onSocketEvent!(ReadableEvent);
            else
                CloseAfterWaitEnded();
        }

        private void SentCompleted()
        {
            if (!_stopped)
                _onSocketEvent!(SentEvent);
        }

        private void ConnectCompleted()
        {
            if (!_stopped)
                _onSocketEvent!(ConnectDoneEvent);
        }

        private void OnSocketEvent(object what)
        {
            if (ReferenceEquals(what, ReadableEvent))
                OnReadable();
            else if (ReferenceEquals(what, SentEvent))
                OnSent();
            else if (ReferenceEquals(what, ConnectDoneEvent))
                OnConnectDone();
            else if (what is ConnectionTimeout due)
                OnConnectTimeout(due);
            else
                StartConnect((SocketConnector.ConnectAttempt)what);
        }

        private void StartConnect(SocketConnector.ConnectAttempt attempt)
        {
            if (!_connector.Take(attempt))
                return; // failed already: the stage is stopping
            if (_isConnected || _attempt is not null)
            {
                attempt.Fail(new InvalidOperationException("the socket is connected or connecting already"));
                return;
            }

            if (attempt.Accepted is { } accepted)
            {
                _socket = accepted;
                Connected();
                attempt.Done.TrySetResult(accepted.RemoteEndPoint!);
                return;
            }

            var remote = attempt.Remote!;
            _attempt = attempt;
            try
            {
                _socket = remote is DnsEndPoint
                    ? new Socket(SocketType.Stream, ProtocolType.Tcp)
                    : new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (SocketException e)
            {
                // No socket to be had (out of file descriptors, an address family the system lacks): this connect
                // fails with why, as any failed connect does, and the stage carries on.
                ConnectFailed(e);
                return;
            }

            if (attempt.Timeout > TimeSpan.Zero)
                _connectTimer = ConnectionTimeout.Start(Materializer, attempt.Timeout, _onSocketEvent!); // a timeout is its own event

            _connecting = _socket.ConnectAsync(remote, CancellationToken.None);
            if (_connecting.IsCompleted)
                OnConnectDone();
            else
                _connecting.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onConnected ??= ConnectCompleted);
        }

        private void OnConnectDone()
        {
            // Nothing under way, or a late word from an attempt that timed out while a newer one is still connecting.
            if (_attempt is not { } attempt || !_connecting.IsCompleted)
                return;
            try
            {
                _connecting.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                ConnectFailed(e);
                return;
            }

            _connectTimer?.Cancel();
            _attempt = null;
            // A server just connected to has rarely sent anything yet: the first read goes straight to the wait, which
            // looks once before it waits, instead of a receive that would only say so. (An accepted client has mostly
            // sent its first bytes by the time it is attached, so its first read is a plain receive.)
            _drained = true;
            Connected();
            attempt.Done.TrySetResult(attempt.Remote!);
        }

        private void OnConnectTimeout(ConnectionTimeout due)
        {
            if (due == _connectTimer && _attempt is { } attempt)
                ConnectFailed(new TimeoutException($"connect to {attempt.Remote} timed out after {attempt.Timeout.TotalSeconds:0.###}s"));
        }

        /// <summary>The stage carries on, and may be told to connect elsewhere; unless it was made to connect once.</summary>
        private void ConnectFailed(Exception error)
        {
            _connectTimer?.Cancel();
            var attempt = _attempt!;
            _attempt = null;
            _socket?.Dispose();
            _socket = null;
            attempt.Done.TrySetException(error);
            if (_stage._connectAtStart is not null)
            {
                _connector.Stopped(error);
                FailStage(error);
            }
        }

        private void Connected()
        {
            var socket = _socket!;
            socket.NoDelay = true;
            // Reads are tried without waiting; when nothing is there yet the stage waits with a zero-byte receive.
            socket.Blocking = false;
            _isConnected = true;
            _connector.SetConnected(socket);
            if (IsAvailable(_stage.Received))
                Read();
            if (IsClosed(_stage.ToSend))
                ShutdownSend();
            else
                Pull(_stage.ToSend);
        }

        private void Read()
        {
            // _stopped: the interpreter can still deliver a pull it was chasing when the stage stopped in the same round;
            // the socket is gone by then. _sendFailed: the stage fails in a moment (see Send).
            if (_stopped || _sendFailed || !_isConnected || _waiting)
                return;
            if (_drained)
            {
                // The last read took less than it could: most likely nothing more is there, so skip straight to the
                // wait (which looks once more before it waits) instead of a receive that would only say so.
                _drained = false;
                WaitForData();
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(ReadSize);
            int received;
            SocketError error;
            try
            {
                received = _socket!.Receive(buffer.AsSpan(0, ReadSize), SocketFlags.None, out error);
                if (error == SocketError.Success && received > 0)
                {
                    _drained = received < ReadSize;
                    Push(_stage.Received, ByteString.CopyFrom(buffer, 0, received));
                    return;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            switch (error)
            {
                case SocketError.Success:
                    // End of stream: the peer will send no more (it may still read).
                    _peerFinished = true;
                    Complete(_stage.Received);
                    CompleteIfDone();
                    return;
                case SocketError.WouldBlock:
                    WaitForData();
                    return;
                default:
                    Abort(new SocketException((int)error));
                    return;
            }
        }

        private void WaitForData()
        {
            _waiting = true;
            _waitingForData = _socket!.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            if (_waitingForData.IsCompleted)
                OnReadable();
            else
                _waitingForData.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable!);
        }

        private void OnReadable()
        {
            _waiting = false;
            try
            {
                _waitingForData.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                Abort(e);
                return;
            }

            if (IsAvailable(_stage.Received))
                Read();
        }

        /// <summary>
        /// Sends what the socket takes at once; the rest (the peer is slow) waits in a pooled buffer for an
        /// asynchronous send. The next element is pulled only when all of this one went out.
        /// </summary>
        private void Send(ByteString data)
        {
            if (_stopped)
                return; // a push chased into the stage as it stopped (see Read)
            var bytes = data.ToReadOnlySpan();
            var sent = _socket!.Send(bytes, SocketFlags.None, out var error);
            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                // Not here: the stage that pushed may also have pulled this stage in the same handler, and Akka.Streams
                // delivers that chased pull even to a stage that stopped meanwhile, counting the stage's end twice; the
                // graph then never finishes and its actor and sockets' objects stay for good (a client that resets as
                // its TLS session tickets arrive, as `openssl s_time` does). Failing from a callback of its own is a
                // fresh event.
                _sendFailed = true;
                GetAsyncCallback<Exception>(Abort)(new SocketException((int)error));
                return;
            }

            if (error == SocketError.WouldBlock)
                sent = 0;
            if (sent == bytes.Length)
            {
                Sent();
                return;
            }

            var rest = bytes[sent..];
            _unsent = ArrayPool<byte>.Shared.Rent(rest.Length);
            rest.CopyTo(_unsent);
            _writing = true;
            // Completes when all of it went out.
            _sending = _socket.SendAsync(_unsent.AsMemory(0, rest.Length), SocketFlags.None);
            if (_sending.IsCompleted)
                OnSent();
            else
                _sending.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onSent ??= SentCompleted);
        }

        private void OnSent()
        {
            _writing = false;
            ArrayPool<byte>.Shared.Return(_unsent!);
            _unsent = null;
            try
            {
                _sending.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                Abort(e);
                return;
            }

            Sent();
        }

        private void Sent()
        {
            if (IsClosed(_stage.ToSend))
                ShutdownSend();
            else
                Pull(_stage.ToSend);
        }

        private void ShutdownSend()
        {
            // After the peer's FIN, with nothing left unread, the close that follows at once sends FIN just as well;
            // a stage that leaves FIN to the close sends it there.
            if (_isConnected && !_peerFinished && _stage.SendsFinWhenInputEnds)
            {
                try
                {
                    _socket!.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // The peer is gone already; closing will tell.
                }
            }

            CompleteIfDone();
        }

        private void CompleteIfDone()
        {
            if (IsClosed(_stage.ToSend) && !_writing && IsClosed(_stage.Received))
                CompleteStage();
        }

        /// <summary>Fails the stage; the socket is reset rather than closed.</summary>
        private void Abort(Exception reason)
        {
            _abort = true;
            FailStage(reason);
        }

        public override void PostStop()
        {
            // Once only: a chased pull delivered after the stage failed (see Read) makes the interpreter finalize it twice.
            if (_stopped)
                return;
            _stopped = true;
            _connectTimer?.Cancel();
            _attempt?.Fail(new SocketStageStoppedException());
            _connector.Stopped();
            if (_socket is not { } socket)
                return;
            try
            {
                if (_abort && _isConnected)
                    socket.LingerState = new LingerOption(true, 0);
                else if (_waiting)
                {
                    CloseAfterWait(socket);
                    return;
                }
            }
            catch (SocketException)
            {
                // Already reset by the peer.
            }

            socket.Dispose();
        }

        /// <summary>
        /// Closes a socket whose receive still waits for data (the relay ended from the other side) once that wait has
        /// ended. Closing at once would abort the receive, and .NET completes an aborted receive on a pool thread: a
        /// thread woken for every such connection. Shutting both directions down ends the wait at once (as the end of
        /// the stream, on the socket engine's thread) and sends FIN as the close would have; the close follows there.
        /// </summary>
        private void CloseAfterWait(Socket socket)
        {
            Volatile.Write(ref _closeAfterWait, socket);
            socket.Shutdown(SocketShutdown.Both);
            // The wait may have ended before it could see the socket to close: then close it here.
            if (_waitingForData.IsCompleted)
                CloseAfterWaitEnded();
        }

        /// <summary>The wait of a stopped stage ended: closes the socket it left, once, whichever thread gets here first.</summary>
        private void CloseAfterWaitEnded() => Interlocked.Exchange(ref _closeAfterWait, null)?.Dispose();
    }
}
