using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using StreamLb.Connections;

namespace StreamLb.Tls;

/// <summary>
/// The <see cref="TlsStage"/> on the system's OpenSSL. The session works on two memory buffers (BIOs): cipher text the
/// client sent is written into one, cipher text to send is taken from the other, a record's worth at a time, so that
/// neither grows past a record. Every call is synchronous and runs inside the handler that brought the bytes or the
/// demand, so there is no task, no continuation and no buffer of the stage's own: a record is decrypted into a
/// thread's scratch buffer and copied out, plain text is encrypted straight from the element's array. Cipher text is
/// pulled only when the session needs more to go on (the handshake, or a read with demand for plain text), and plain
/// text only once the cipher text of the last write was pushed, so backpressure holds end to end.
/// </summary>
internal sealed class NativeTlsServerStage(NativeTlsContext context) : TlsStage
{
    /// <summary>Largest plain-text chunk read at once, and written at once: one full TLS record.</summary>
    private const int RecordSize = 16 * 1024;

    /// <summary>More than a record adds in cipher text (header, nonce, padding, tag), with room to spare.</summary>
    private const int RecordOverhead = 512;

    // One per thread: a read copies its plain text out before the handler returns.
    [ThreadStatic]
    private static byte[]? t_scratch;

    protected override GraphStageLogic CreateLogic(StageOutcome<TlsSessionInfo> handshake) => new Logic(this, context, handshake);

    private sealed unsafe class Logic : TlsLogic
    {
        private readonly NativeTlsServerStage _stage;
        private readonly NativeTlsContext _context;
        private nint _ssl;
        private nint _readBio;
        private nint _writeBio;
        private bool _cipherEnded;

        private bool _plainInFinished;
        private bool _closeNotifySent;

        // Cipher text from the client not handed to the session yet: it gets a record's worth at a time, when it asks.
        private ByteString? _cipherLeft;

        public Logic(NativeTlsServerStage stage, NativeTlsContext context, StageOutcome<TlsSessionInfo> handshake) : base(stage, handshake)
        {
            _stage = stage;
            _context = context;
            var clientSide = new ClientSide(this);
            SetHandler(stage.CipherIn, clientSide);
            SetHandler(stage.CipherOut, clientSide);
            var relaySide = new RelaySide(this);
            SetHandler(stage.PlainIn, relaySide);
            SetHandler(stage.PlainOut, relaySide);
        }

        /// <summary>Cipher text from the client socket, and its demand for more.</summary>
        private sealed class ClientSide(Logic logic) : InAndOutHandler
        {
            public override void OnPush()
            {
                logic.Receive(logic.Grab(logic._stage.CipherIn));
                logic.Advance();
            }

            public override void OnUpstreamFinish()
            {
                logic._cipherEnded = true;
                logic.Advance();
            }

            public override void OnUpstreamFailure(Exception e) => logic.Fail(e);

            public override void OnPull()
            {
                if (logic.Stopped)
                    return;
                logic.PushQueuedCipher();
                logic.Continue();
                if (logic.HandshakeDone && !logic.CipherWaiting)
                    logic.Advance(); // a read that waited for this cipher text to go
            }

            public override void OnDownstreamFinish(Exception cause) => logic.ClientGone(cause);
        }

        /// <summary>Plain text for the client from the relay, and the relay's demand for what the client sent.</summary>
        private sealed class RelaySide(Logic logic) : InAndOutHandler
        {
            public override void OnPush() => logic.Write(logic.Grab(logic._stage.PlainIn));

            public override void OnUpstreamFinish()
            {
                logic._plainInFinished = true;
                if (!logic.HandshakeDone)
                    logic.CompleteStage(); // nothing to protect yet: just close the socket
                else
                    logic.Continue();
            }

            public override void OnUpstreamFailure(Exception e) => logic.Fail(e);

            public override void OnPull() => logic.Advance();

            public override void OnDownstreamFinish(Exception cause) => logic.CompleteIfDone();
        }

        public override void PreStart()
        {
            _ssl = OpenSsl.SSL_new(_context.Handle);
            if (_ssl == 0)
                throw new AuthenticationException($"TLS: a new session failed: {OpenSsl.TakeErrors() ?? "out of memory"}");
            _readBio = OpenSsl.BIO_new(OpenSsl.BIO_s_mem());
            _writeBio = OpenSsl.BIO_new(OpenSsl.BIO_s_mem());
            if (_readBio == 0 || _writeBio == 0)
            {
                OpenSsl.BIO_free(_readBio);
                OpenSsl.BIO_free(_writeBio);
                throw new AuthenticationException($"TLS: a new session failed: {OpenSsl.TakeErrors() ?? "out of memory"}");
            }

            OpenSsl.SSL_set_bio(_ssl, _readBio, _writeBio); // the session owns both buffers now, and frees them with itself
            OpenSsl.SSL_set_accept_state(_ssl);
            Pull(_stage.CipherIn);
        }

        /// <summary>
        /// Keeps cipher text from the client for the session, which takes it as it needs it. Cipher text is pulled only
        /// once what was kept before is all handed over.
        /// </summary>
        private void Receive(ByteString cipher) => _cipherLeft = cipher;

        /// <summary>
        /// Hands the session up to a record's worth of the cipher text kept for it; false when there is none. A record
        /// at a time, so that the session's input buffer (which never shrinks) stays the size of a record, whatever
        /// size the socket reads in.
        /// </summary>
        private bool FeedCipher()
        {
            if (_cipherLeft is not { IsEmpty: false } left)
                return false;
            // A full record and its header, nonce and tag fit in one piece.
            const int pieceSize = RecordSize + RecordOverhead;
            var piece = left.Count <= pieceSize ? left : left.Slice(0, pieceSize);
            _cipherLeft = left.Count <= pieceSize ? null : left.Slice(pieceSize);
            var bytes = piece.ToReadOnlySpan();
            fixed (byte* data = bytes)
            {
                if (OpenSsl.BIO_write(_readBio, data, bytes.Length) != bytes.Length)
                    throw Failing(new IOException($"TLS: buffering cipher text failed: {OpenSsl.TakeErrors()}"));
            }

            return true;
        }

        /// <summary>
        /// Moves the cipher-to-plain direction on: the handshake while it runs, then one record's plain text for each
        /// pull, asking the client socket for more cipher text only when the session has none left to work on.
        /// </summary>
        private void Advance()
        {
            while (!Stopped)
            {
                if (!HandshakeDone)
                {
                    OpenSsl.ClearErrors();
                    var result = OpenSsl.SSL_do_handshake(_ssl);
                    SendPending();
                    if (result != 1)
                    {
                        var error = OpenSsl.SSL_get_error(_ssl, result);
                        if (error == OpenSsl.ErrorWantRead && FeedCipher())
                            continue;
                        if (error == OpenSsl.ErrorWantRead && !_cipherEnded)
                            PullCipher();
                        else
                            Fail(error == OpenSsl.ErrorWantRead
                                ? new AuthenticationException("TLS handshake: the client closed the connection")
                                : new AuthenticationException($"TLS handshake failed: {Describe(error)}"));
                        return;
                    }

                    HandshakeSucceeded(Session());
                    Continue();
                    continue;
                }

                // Also waits while cipher text it produced waits for the client to take it: what a read sends back
                // (a key update's answer, say) is then bounded by what the client reads.
                if (IsClosed(_stage.PlainOut) || !IsAvailable(_stage.PlainOut) || CipherWaiting)
                    return;
                var scratch = t_scratch ??= GC.AllocateUninitializedArray<byte>(RecordSize, pinned: true);
                int count;
                OpenSsl.ClearErrors();
                fixed (byte* buffer = scratch)
                    count = OpenSsl.SSL_read(_ssl, buffer, RecordSize);
                SendPending(); // a read can answer: a key update, say
                if (count > 0)
                {
                    Push(_stage.PlainOut, ByteString.CopyFrom(scratch, 0, count));
                    return;
                }

                switch (OpenSsl.SSL_get_error(_ssl, count))
                {
                    case OpenSsl.ErrorWantRead when FeedCipher():
                        continue;
                    case OpenSsl.ErrorWantRead when !_cipherEnded:
                        PullCipher();
                        return;
                    case OpenSsl.ErrorWantRead when OpenSsl.SSL_has_pending(_ssl) == 1 || OpenSsl.BIO_ctrl_pending(_readBio) > 0:
                        Fail(new IOException("TLS read failed: the client's connection ended inside a record"));
                        return;
                    case OpenSsl.ErrorWantRead: // FIN without close_notify: the end all the same, as a half-close
                    case OpenSsl.ErrorZeroReturn: // close_notify
                        Complete(_stage.PlainOut);
                        CompleteIfDone();
                        return;
                    case var error:
                        Fail(new IOException($"TLS read failed: {Describe(error)}"));
                        return;
                }
            }
        }

        /// <summary>
        /// The session is freed: the interpreter can still deliver a pull or push it was chasing when the stage stopped
        /// in the same round, and OpenSSL must never see the freed session.
        /// </summary>
        private bool Stopped => _ssl == 0;

        private void PullCipher()
        {
            if (!IsClosed(_stage.CipherIn) && !HasBeenPulled(_stage.CipherIn))
                Pull(_stage.CipherIn);
        }

        /// <summary>
        /// Encrypts <paramref name="plain"/> a record at a time, taking each record's cipher text out of the session
        /// before the next (its output buffer, which never shrinks, stays the size of a record), and sends it all as
        /// one element: one send for the socket, as the plain text came.
        /// </summary>
        private void Write(ByteString plain)
        {
            if (Stopped)
                return;
            var bytes = plain.ToReadOnlySpan();
            if (bytes.Length is > 0 and <= RecordSize)
            {
                // One record (a request, a message): its cipher text taken out at its exact size.
                if (!WriteRecord(bytes))
                    return;
                SendPending();
            }
            else if (!bytes.IsEmpty)
            {
                var cipher = GC.AllocateUninitializedArray<byte>(bytes.Length + (bytes.Length / RecordSize + 1) * RecordOverhead);
                var filled = 0;
                for (var offset = 0; offset < bytes.Length; offset += RecordSize)
                {
                    if (!WriteRecord(bytes.Slice(offset, Math.Min(RecordSize, bytes.Length - offset))))
                        return;
                    filled = TakeCipher(ref cipher, filled);
                }

                PushOrQueueCipher(ByteString.FromBytes(cipher, 0, filled));
            }

            Continue();
        }

        /// <summary>Encrypts one record's worth of plain text; false when the session failed (and so has the stage).</summary>
        private bool WriteRecord(ReadOnlySpan<byte> plain)
        {
            int written;
            OpenSsl.ClearErrors();
            fixed (byte* data = plain)
                written = OpenSsl.SSL_write(_ssl, data, plain.Length);
            if (written == plain.Length)
                return true;
            Fail(new IOException($"TLS write failed: {Describe(OpenSsl.SSL_get_error(_ssl, written))}"));
            return false;
        }

        /// <summary>Appends the cipher text the session produced to <paramref name="cipher"/> at <paramref name="filled"/>.</summary>
        private int TakeCipher(ref byte[] cipher, int filled)
        {
            for (var pending = OpenSsl.BIO_ctrl_pending(_writeBio); pending > 0; pending = OpenSsl.BIO_ctrl_pending(_writeBio))
            {
                if (cipher.Length - filled < pending)
                    Array.Resize(ref cipher, filled + pending + RecordOverhead);
                int taken;
                fixed (byte* data = &cipher[filled])
                    taken = OpenSsl.BIO_read(_writeBio, data, pending);
                if (taken <= 0)
                    throw Failing(new IOException($"TLS: taking cipher text failed: {OpenSsl.TakeErrors()}"));
                filled += taken;
            }

            return filled;
        }

        /// <summary>
        /// Moves the plain-to-cipher direction on once the cipher text written so far was pushed: the next plain text,
        /// close_notify after the last, then the end of the cipher output.
        /// </summary>
        private void Continue()
        {
            if (!HandshakeDone || CipherWaiting || Stopped)
                return;
            if (_closeNotifySent)
            {
                if (!IsClosed(_stage.CipherOut))
                    Complete(_stage.CipherOut);
                CompleteIfDone();
            }
            else if (_plainInFinished)
            {
                _closeNotifySent = true;
                OpenSsl.ClearErrors();
                OpenSsl.SSL_shutdown(_ssl);
                OpenSsl.ClearErrors();
                SendPending();
                Continue();
            }
            else if (!IsClosed(_stage.PlainIn) && !HasBeenPulled(_stage.PlainIn))
                Pull(_stage.PlainIn);
        }

        /// <summary>Takes the cipher text the session produced and sends it.</summary>
        private void SendPending()
        {
            var pending = OpenSsl.BIO_ctrl_pending(_writeBio);
            if (pending <= 0)
                return;
            var cipher = GC.AllocateUninitializedArray<byte>(pending);
            var filled = TakeCipher(ref cipher, 0);
            PushOrQueueCipher(ByteString.FromBytes(cipher, 0, filled));
        }

        private TlsSessionInfo Session()
        {
            var protocol = OpenSsl.SSL_version(_ssl) switch
            {
                OpenSsl.Tls13Version => SslProtocols.Tls13,
                OpenSsl.Tls12Version => SslProtocols.Tls12,
                _ => SslProtocols.None,
            };
            var suite = (TlsCipherSuite)OpenSsl.SSL_CIPHER_get_protocol_id(OpenSsl.SSL_get_current_cipher(_ssl));
            var name = OpenSsl.SSL_get_servername(_ssl, 0);
            return new TlsSessionInfo(protocol, suite, name == 0 ? null : Marshal.PtrToStringUTF8(name), OpenSsl.SSL_session_reused(_ssl) == 1);
        }

        private string Describe(int error) => error switch
        {
            OpenSsl.ErrorSsl => OpenSsl.TakeErrors() ?? "protocol error",
            OpenSsl.ErrorSyscall => OpenSsl.TakeErrors() ?? "unexpected end of the stream",
            _ => $"{OpenSsl.TakeErrors() ?? "error"} (SSL_get_error {error})",
        };

        /// <summary>For a failure thrown out of a handler (Akka.Streams fails the stage with it): the handshake's too.</summary>
        private Exception Failing(Exception error)
        {
            HandshakeFailed(error);
            return error;
        }

        private void Fail(Exception error)
        {
            HandshakeFailed(error);
            FailStage(error);
        }

        public override void PostStop()
        {
            EndHandshake();
            var ssl = _ssl;
            _ssl = 0;
            if (ssl != 0)
                OpenSsl.SSL_free(ssl); // with its buffers
        }
    }
}
