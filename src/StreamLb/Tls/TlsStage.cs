using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;
using StreamLb.Connections;

namespace StreamLb.Tls;

/// <summary>
/// Server-side TLS as an Akka.Streams stage (Akka.Streams 1.5 has none), whichever engine runs it: cipher text from the
/// client comes in on <c>in1</c> and plain text goes out on <c>out1</c>; plain text for the client comes in on
/// <c>in2</c> and leaves encrypted on <c>out2</c>. Plain text completing sends close_notify; the client's close_notify
/// or FIN completes the plain output (half-close passes through). The materialized outcome completes when the
/// handshake does, or fails with its error.
/// </summary>
public abstract class TlsStage : GraphStageWithMaterializedValue<BidiShape<ByteString, ByteString, ByteString, ByteString>, StageOutcome<TlsSessionInfo>>
{
    protected TlsStage() => Shape = new BidiShape<ByteString, ByteString, ByteString, ByteString>(CipherIn, PlainOut, PlainIn, CipherOut);

    public Inlet<ByteString> CipherIn { get; } = new("tls.cipherIn");
    public Outlet<ByteString> PlainOut { get; } = new("tls.plainOut");
    public Inlet<ByteString> PlainIn { get; } = new("tls.plainIn");
    public Outlet<ByteString> CipherOut { get; } = new("tls.cipherOut");

    public override BidiShape<ByteString, ByteString, ByteString, ByteString> Shape { get; }

    public override ILogicAndMaterializedValue<StageOutcome<TlsSessionInfo>> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var handshake = new StageOutcome<TlsSessionInfo>();
        return new LogicAndMaterializedValue<StageOutcome<TlsSessionInfo>>(CreateLogic(handshake), handshake);
    }

    /// <summary>One connection's logic, which completes or fails <paramref name="handshake"/>.</summary>
    protected abstract GraphStageLogic CreateLogic(StageOutcome<TlsSessionInfo> handshake);

    /// <summary>
    /// What both engines' logics share: the handshake's outcome; cipher text for the client pushed at once, or queued
    /// in order while the client socket has no demand; and the stage's end once both of its outputs have ended. Two
    /// inlets and two outlets, not the shape itself: that would build the shape's name as a log source, a string per
    /// connection, and these stages do not log.
    /// </summary>
    protected abstract class TlsLogic(TlsStage stage, StageOutcome<TlsSessionInfo> handshake) : GraphStageLogic(inCount: 2, outCount: 2)
    {
        private readonly Queue<ByteString> _cipherToSend = new();

        /// <summary>The handshake has succeeded: application data may flow.</summary>
        protected bool HandshakeDone { get; private set; }

        protected void HandshakeSucceeded(TlsSessionInfo session)
        {
            HandshakeDone = true;
            handshake.TrySetResult(session);
        }

        /// <summary>Fails the handshake's outcome, unless it has one already.</summary>
        protected void HandshakeFailed(Exception error) => handshake.TrySetException(error);

        /// <summary>
        /// For the stage's end: a handshake still under way fails. One that completed long before makes no exception.
        /// </summary>
        protected void EndHandshake()
        {
            if (!handshake.IsCompleted)
                handshake.TrySetException(new IOException("the TLS stage stopped"));
        }

        /// <summary>Cipher text waits for the client socket's demand.</summary>
        protected bool CipherWaiting => _cipherToSend.Count > 0;

        protected void PushOrQueueCipher(ByteString cipher)
        {
            if (IsClosed(stage.CipherOut))
                return;
            if (_cipherToSend.Count == 0 && IsAvailable(stage.CipherOut))
                Push(stage.CipherOut, cipher);
            else
                _cipherToSend.Enqueue(cipher);
        }

        /// <summary>On the client socket's demand: the oldest cipher text waiting, if any.</summary>
        protected void PushQueuedCipher()
        {
            if (_cipherToSend.TryDequeue(out var next))
                Push(stage.CipherOut, next);
        }

        /// <summary>The client socket takes no more cipher text: the connection is over.</summary>
        protected void ClientGone(Exception? cause) => FailStage(cause ?? new IOException("the client connection closed"));

        protected void CompleteIfDone()
        {
            if (IsClosed(stage.PlainOut) && IsClosed(stage.CipherOut))
                CompleteStage();
        }
    }
}
