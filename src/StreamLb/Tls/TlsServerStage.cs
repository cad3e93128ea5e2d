using System.Net.Security;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;

namespace StreamLb.Tls;

/// <summary>
/// Server-side TLS as an Akka.Streams stage around <see cref="SslStream"/> (Akka.Streams 1.5 has none).
/// Cipher text from the client comes in on <c>in1</c> and plain text goes out on <c>out1</c>; plain text for the client
/// comes in on <c>in2</c> and leaves encrypted on <c>out2</c>. One <see cref="SslStream"/> read and one write are in
/// flight at most, each started only on demand, so backpressure holds end to end. Plain text completing sends
/// close_notify; the client's close_notify or FIN completes the plain output (half-close passes through).
/// The materialized task completes when the handshake does, or fails with its error.
/// </summary>
public sealed class TlsServerStage : GraphStageWithMaterializedValue<BidiShape<ByteString, ByteString, ByteString, ByteString>, Task<TlsSessionInfo>>
{
    /// <summary>Largest plain-text chunk read at once: one full TLS record.</summary>
    private const int ReadSize = 16 * 1024;

    private readonly SslServerAuthenticationOptions _options;

    public TlsServerStage(SslServerAuthenticationOptions options)
    {
        _options = options;
        Shape = new BidiShape<ByteString, ByteString, ByteString, ByteString>(CipherIn, PlainOut, PlainIn, CipherOut);
    }

    public Inlet<ByteString> CipherIn { get; } = new("tls.cipherIn");
    public Outlet<ByteString> PlainOut { get; } = new("tls.plainOut");
    public Inlet<ByteString> PlainIn { get; } = new("tls.plainIn");
    public Outlet<ByteString> CipherOut { get; } = new("tls.cipherOut");

    public override BidiShape<ByteString, ByteString, ByteString, ByteString> Shape { get; }

    /// <summary>The stage as a BidiFlow to join onto a client connection: cipher side first, plain side second.</summary>
    public static BidiFlow<ByteString, ByteString, ByteString, ByteString, Task<TlsSessionInfo>> Create(SslServerAuthenticationOptions options) =>
        BidiFlow.FromGraph(new TlsServerStage(options));

    public override ILogicAndMaterializedValue<Task<TlsSessionInfo>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var handshake = new TaskCompletionSource<TlsSessionInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task<TlsSessionInfo>>(new Logic(this, handshake), handshake.Task);
    }

    private sealed class Logic : GraphStageLogic
    {
        private readonly TlsServerStage _stage;
        private readonly TaskCompletionSource<TlsSessionInfo> _handshake;
        private readonly Queue<CipherPipe.PendingWrite> _cipherToSend = new();
        private readonly byte[] _readBuffer = new byte[ReadSize];
        private byte[] _writeBuffer = new byte[ReadSize];
        private CipherPipe? _pipe;
        private Action<Task<int>>? _readDone;
        private Action<Task>? _writeDone;
        private SslStream? _ssl;
        private bool _handshakeDone;
        private bool _reading;
        private bool _writing;
        private bool _plainInFinished;

        public Logic(TlsServerStage stage, TaskCompletionSource<TlsSessionInfo> handshake) : base(stage.Shape)
        {
            _stage = stage;
            _handshake = handshake;

            SetHandler(stage.CipherIn,
                onPush: () => _pipe!.Deliver(Grab(stage.CipherIn)),
                onUpstreamFinish: () => _pipe!.DeliverEnd(),
                onUpstreamFailure: FailStage);
            SetHandler(stage.PlainOut,
                onPull: StartRead,
                onDownstreamFinish: _ => CompleteIfDone());
            SetHandler(stage.PlainIn,
                onPush: StartWrite,
                onUpstreamFinish: () =>
                {
                    _plainInFinished = true;
                    if (!_handshakeDone)
                        CompleteStage(); // nothing to protect yet: just close the socket
                    else if (!_writing)
                        StartShutdown();
                },
                onUpstreamFailure: FailStage);
            SetHandler(stage.CipherOut,
                onPull: PushCipher,
                onDownstreamFinish: cause => FailStage(cause as Exception ?? new IOException("the client connection closed")));
        }

        public override void PreStart()
        {
            var requestCipher = GetAsyncCallback(() =>
            {
                if (!IsClosed(_stage.CipherIn) && !HasBeenPulled(_stage.CipherIn))
                    Pull(_stage.CipherIn);
            });
            var writeCipher = GetAsyncCallback<CipherPipe.PendingWrite>(write =>
            {
                _cipherToSend.Enqueue(write);
                PushCipher();
            });
            _pipe = new CipherPipe(requestCipher, writeCipher);
            _ssl = new SslStream(_pipe, leaveInnerStreamOpen: false);

            // Made once: every read and every write completes through one of these.
            _readDone = GetAsyncCallback<Task<int>>(OnReadDone);
            _writeDone = GetAsyncCallback<Task>(OnWriteDone);
            var handshakeDone = GetAsyncCallback<Task>(OnHandshakeDone);
            _ssl.AuthenticateAsServerAsync(_stage._options, CancellationToken.None)
                .ContinueWith(handshakeDone, TaskContinuationOptions.ExecuteSynchronously);
        }

        private void OnHandshakeDone(Task task)
        {
            if (task.Exception is { } error)
            {
                FailStage(error.InnerException ?? error);
                return;
            }

            _handshakeDone = true;
            _handshake.TrySetResult(new TlsSessionInfo(_ssl!.SslProtocol, _ssl.NegotiatedCipherSuite, _ssl.TargetHostName is { Length: > 0 } sni ? sni : null));
            if (IsAvailable(_stage.PlainOut))
                StartRead();
            if (!HasBeenPulled(_stage.PlainIn) && !IsClosed(_stage.PlainIn))
                Pull(_stage.PlainIn);
            else if (_plainInFinished)
                StartShutdown();
        }

        private void StartRead()
        {
            if (!_handshakeDone || _reading)
                return;
            _reading = true;
            _ssl!.ReadAsync(_readBuffer, 0, _readBuffer.Length)
                .ContinueWith(_readDone!, TaskContinuationOptions.ExecuteSynchronously);
        }

        private void OnReadDone(Task<int> task)
        {
            _reading = false;
            if (IsClosed(_stage.PlainOut))
                return;
            if (task.Exception is { } error)
            {
                FailStage(error.InnerException ?? error);
                return;
            }

            if (task.Result == 0)
            {
                Complete(_stage.PlainOut);
                CompleteIfDone();
                return;
            }

            Push(_stage.PlainOut, ByteString.CopyFrom(_readBuffer, 0, task.Result));
        }

        private void StartWrite()
        {
            var data = Grab(_stage.PlainIn);
            _writing = true;
            if (_writeBuffer.Length < data.Count)
                _writeBuffer = new byte[data.Count];
            data.CopyTo(_writeBuffer, 0, data.Count);
            _ssl!.WriteAsync(_writeBuffer, 0, data.Count).ContinueWith(_writeDone!, TaskContinuationOptions.ExecuteSynchronously);
        }

        private void OnWriteDone(Task task)
        {
            _writing = false;
            if (task.Exception is { } error)
            {
                FailStage(error.InnerException ?? error);
                return;
            }

            if (_plainInFinished)
                StartShutdown();
            else if (!IsClosed(_stage.PlainIn))
                Pull(_stage.PlainIn);
        }

        private void StartShutdown()
        {
            if (!_handshakeDone)
                return;
            var shutdownDone = GetAsyncCallback<Task>(_ =>
            {
                // close_notify is queued behind any cipher text still waiting for demand; complete after it.
                _plainInFinished = true;
                _cipherToSend.Enqueue(new CipherPipe.PendingWrite(ByteString.Empty, new TaskCompletionSource()));
                PushCipher();
            });
            _ssl!.ShutdownAsync().ContinueWith(shutdownDone, TaskContinuationOptions.ExecuteSynchronously);
        }

        private void PushCipher()
        {
            if (IsClosed(_stage.CipherOut))
            {
                while (_cipherToSend.TryDequeue(out var dropped))
                    dropped.Done.TrySetException(new IOException("the client connection closed"));
                return;
            }

            while (_cipherToSend.TryPeek(out var next) && next.Data.IsEmpty)
            {
                // The empty marker stands for "everything before me was sent": close our side towards the client.
                _cipherToSend.Dequeue();
                Complete(_stage.CipherOut);
                CompleteIfDone();
                return;
            }

            if (!IsAvailable(_stage.CipherOut) || !_cipherToSend.TryDequeue(out var write))
                return;
            Push(_stage.CipherOut, write.Data);
            write.Done.TrySetResult();
        }

        private void CompleteIfDone()
        {
            if (IsClosed(_stage.PlainOut) && IsClosed(_stage.CipherOut))
                CompleteStage();
        }

        public override void PostStop()
        {
            var stopped = new IOException("the TLS stage stopped");
            _handshake.TrySetException(stopped);
            _pipe?.Fail(stopped);
            while (_cipherToSend.TryDequeue(out var pending))
                pending.Done.TrySetException(stopped);
            _ssl?.Dispose();
        }
    }
}
