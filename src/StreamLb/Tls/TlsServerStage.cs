using System.Buffers;
using System.Net.Security;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using StreamLb.Connections;

namespace StreamLb.Tls;

/// <summary>
/// The <see cref="TlsStage"/> on .NET's <see cref="SslStream"/>: where the system's OpenSSL 3 does not load, or when asked for.
/// <para>
/// SslStream runs on the stage's own thread: its transport (<see cref="CipherPipe"/>) completes reads synchronously
/// when a handler delivers cipher text and takes writes at once, so a record is decrypted or encrypted inside the
/// handler that brought it, and an SslStream operation that finishes there is handled there. Only an operation that
/// finishes on another thread goes through the stage's mailbox. One read and one write are in flight at most, each
/// started on demand, and plain text is pulled again only once the cipher text of the last write was pushed, so
/// backpressure holds end to end. An idle connection holds no read or write buffer: a read first waits with zero
/// bytes (SslStream then returns its own buffer too) and only then rents one from the shared pool for the record;
/// plain text is encrypted straight from the element's array.
/// </para>
/// </summary>
public sealed class TlsServerStage(SslServerAuthenticationOptions options) : TlsStage
{
    /// <summary>Largest plain-text chunk read at once: one full TLS record.</summary>
    private const int ReadSize = 16 * 1024;

    protected override GraphStageLogic CreateLogic(StageOutcome<TlsSessionInfo> handshake) => new Logic(this, options, handshake);

    private sealed class Logic : TlsLogic
    {
        private readonly TlsServerStage _stage;
        private readonly SslServerAuthenticationOptions _options;
        private readonly Action _resumeRead;
        private readonly Action _resumeWrite;
        private readonly Action _readDone;
        private readonly Action _writeDone;
        private CipherPipe? _pipe;
        private SslStream? _ssl;
        private Action<Action>? _post;

        // The managed thread running a handler of this stage right now, else 0: an SslStream operation that finishes
        // on that thread finishes inside the handler and may act on the ports at once.
        private int _handlerThread;

        private ValueTask<int> _pendingRead;
        private ValueTask _pendingWrite;
        private byte[]? _readBuffer;
        private byte[]? _writeBuffer;
        private bool _reading;
        private bool _writing;
        private bool _plainInFinished;
        private bool _shutdownStarted;
        private bool _closeNotifyQueued;
        private bool _stopped;

        public Logic(TlsServerStage stage, SslServerAuthenticationOptions options, StageOutcome<TlsSessionInfo> handshake) : base(stage, handshake)
        {
            _stage = stage;
            _options = options;
            // Made once: every pending read and write resumes through these.
            _resumeRead = ResumeRead;
            _resumeWrite = ResumeWrite;
            _readDone = () => Resume(_resumeRead);
            _writeDone = () => Resume(_resumeWrite);

            SetHandler(stage.CipherIn,
                onPush: InHandler(() => _pipe!.Deliver(Grab(stage.CipherIn))),
                onUpstreamFinish: InHandler(() => _pipe!.DeliverEnd()),
                onUpstreamFailure: FailStage);
            SetHandler(stage.PlainOut,
                onPull: InHandler(StartRead),
                onDownstreamFinish: _ => CompleteIfDone());
            SetHandler(stage.PlainIn,
                onPush: InHandler(StartWrite),
                onUpstreamFinish: InHandler(() =>
                {
                    _plainInFinished = true;
                    if (!HandshakeDone)
                        CompleteStage(); // nothing to protect yet: just close the socket
                    else
                        Continue();
                }),
                onUpstreamFailure: FailStage);
            SetHandler(stage.CipherOut,
                onPull: InHandler(PushCipher),
                onDownstreamFinish: ClientGone);
        }

        public override void PreStart()
        {
            _post = GetAsyncCallback<Action>(Run);
            _pipe = new CipherPipe(RequestCipher, SendCipher);
            _ssl = new SslStream(_pipe, leaveInnerStreamOpen: false);
            Run(() => WhenDone(_ssl.AuthenticateAsServerAsync(_options, CancellationToken.None), OnHandshakeDone));
        }

        private Action InHandler(Action handler) => () => Run(handler);

        /// <summary>Runs a handler, marking this thread as the stage's while it runs.</summary>
        private void Run(Action handler)
        {
            var outer = _handlerThread;
            _handlerThread = Environment.CurrentManagedThreadId;
            try
            {
                handler();
            }
            finally
            {
                _handlerThread = outer;
            }
        }

        /// <summary>
        /// Continues after an SslStream operation finished: right here when that happened inside one of our handlers
        /// (the usual case), else through the stage's mailbox, since ports may only be touched from the stage.
        /// </summary>
        private void Resume(Action next)
        {
            if (_handlerThread != Environment.CurrentManagedThreadId)
            {
                _post!(next);
                return;
            }

            try
            {
                next();
            }
            catch (Exception error)
            {
                // Thrown back into SslStream it would only unwind its state machine; the stage has to fail.
                if (!_stopped)
                    FailStage(error);
            }
        }

        private void WhenDone(Task task, Action<Task> next)
        {
            if (task.IsCompleted)
                next(task);
            else
                task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => Resume(() => next(task)));
        }

        private void OnHandshakeDone(Task task)
        {
            if (_stopped)
            {
                _ = task.Exception; // observed: the stage stopping is what failed it
                return;
            }

            if (!task.IsCompletedSuccessfully)
            {
                var error = Unwrap(task);
                HandshakeFailed(error);
                FailStage(error);
                return;
            }

            HandshakeSucceeded(new TlsSessionInfo(_ssl!.SslProtocol, _ssl.NegotiatedCipherSuite, _ssl.TargetHostName is { Length: > 0 } sni ? sni : null));
            if (IsAvailable(_stage.PlainOut))
                StartRead();
            Continue();
        }

        private void RequestCipher()
        {
            if (_handlerThread != Environment.CurrentManagedThreadId)
                _post!(RequestCipher);
            else if (!_stopped && !IsClosed(_stage.CipherIn) && !HasBeenPulled(_stage.CipherIn))
                Pull(_stage.CipherIn);
        }

        private void SendCipher(ByteString cipher)
        {
            if (_handlerThread != Environment.CurrentManagedThreadId)
                _post!(() => SendCipher(cipher));
            else if (!_stopped)
                PushOrQueueCipher(cipher);
        }

        private void PushCipher()
        {
            PushQueuedCipher();
            Continue();
        }

        /// <summary>
        /// Moves the plain-to-cipher direction on once nothing is being written and the cipher text written so far
        /// was pushed: the next plain text, close_notify after the last, then the end of the cipher output.
        /// </summary>
        private void Continue()
        {
            if (!HandshakeDone || _writing || CipherWaiting)
                return;
            if (_closeNotifyQueued)
            {
                if (!IsClosed(_stage.CipherOut))
                    Complete(_stage.CipherOut);
                CompleteIfDone();
            }
            else if (_plainInFinished)
                StartShutdown();
            else if (!IsClosed(_stage.PlainIn) && !HasBeenPulled(_stage.PlainIn))
                Pull(_stage.PlainIn);
        }

        private void StartRead()
        {
            if (!HandshakeDone || _reading)
                return;
            _reading = true;
            // Wait for a record with no buffer; SslStream frees its own while it waits.
            OnRead(_ssl!.ReadAsync(Memory<byte>.Empty));
        }

        private void ResumeRead()
        {
            var read = _pendingRead;
            _pendingRead = default;
            OnRead(read);
        }

        private void OnRead(ValueTask<int> read)
        {
            while (true)
            {
                if (!read.IsCompleted)
                {
                    _pendingRead = read;
                    read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_readDone);
                    return;
                }

                int count;
                try
                {
                    count = read.GetAwaiter().GetResult();
                }
                catch (Exception error)
                {
                    EndRead();
                    if (!_stopped)
                        FailStage(error);
                    return;
                }

                if (_stopped)
                {
                    EndRead();
                    return;
                }

                if (_readBuffer is null)
                {
                    // The zero-byte read is done: plain text (or the end) is there; now it needs a buffer.
                    _readBuffer = ArrayPool<byte>.Shared.Rent(ReadSize);
                    read = _ssl!.ReadAsync(_readBuffer.AsMemory(0, ReadSize));
                    continue;
                }

                var plain = count == 0 ? null : ByteString.CopyFrom(_readBuffer, 0, count);
                EndRead();
                if (IsClosed(_stage.PlainOut))
                    return;
                if (plain is null)
                {
                    Complete(_stage.PlainOut);
                    CompleteIfDone();
                }
                else
                    Push(_stage.PlainOut, plain);

                return;
            }
        }

        private void EndRead()
        {
            _reading = false;
            if (_readBuffer is { } buffer)
            {
                _readBuffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void StartWrite()
        {
            var data = Grab(_stage.PlainIn);
            if (data.IsEmpty)
            {
                Continue();
                return;
            }

            _writing = true;
            if (data.IsCompact)
            {
                // One SslStream write straight from the ByteString's own array.
                OnWrite(new ValueTask(data.WriteToAsync(_ssl!)));
                return;
            }

            // Several segments would make several records: one pooled buffer serves for the length of the write.
            _writeBuffer = ArrayPool<byte>.Shared.Rent(data.Count);
            data.CopyTo(_writeBuffer, 0, data.Count);
            OnWrite(_ssl!.WriteAsync(_writeBuffer.AsMemory(0, data.Count)));
        }

        private void ResumeWrite()
        {
            var write = _pendingWrite;
            _pendingWrite = default;
            OnWrite(write);
        }

        private void OnWrite(ValueTask write)
        {
            if (!write.IsCompleted)
            {
                _pendingWrite = write;
                write.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_writeDone);
                return;
            }

            _writing = false;
            if (_writeBuffer is { } buffer)
            {
                _writeBuffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }

            try
            {
                write.GetAwaiter().GetResult();
            }
            catch (Exception error)
            {
                if (!_stopped)
                    FailStage(error);
                return;
            }

            if (!_stopped)
                Continue();
        }

        private void StartShutdown()
        {
            if (_shutdownStarted)
                return;
            _shutdownStarted = true;
            _writing = true;
            WhenDone(_ssl!.ShutdownAsync(), OnShutdownDone);
        }

        private void OnShutdownDone(Task task)
        {
            _writing = false;
            if (_stopped)
                return;
            if (!task.IsCompletedSuccessfully)
            {
                FailStage(Unwrap(task));
                return;
            }

            // close_notify is queued behind any cipher text still waiting for demand; the output ends after it.
            _closeNotifyQueued = true;
            Continue();
        }

        private static Exception Unwrap(Task failed) =>
            failed.Exception is { } error ? error.InnerException ?? error : new OperationCanceledException("the TLS operation was canceled");

        public override void PostStop()
        {
            _stopped = true;
            EndHandshake();
            // A pending read ends here, on this thread, and hands back its buffer before SslStream is disposed: as at
            // the end of the stream, and so does any later one. No one waits for their outcome any more, and a failure
            // would be thrown anew through each of SslStream's async frames (it reads once more after the end), on
            // every connection that ends with a read pending, which is most of them.
            Run(() => _pipe?.DeliverEnd());
            _ssl?.Dispose();
        }
    }
}
