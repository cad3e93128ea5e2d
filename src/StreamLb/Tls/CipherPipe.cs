using System.Threading.Tasks.Sources;
using Akka.IO;

namespace StreamLb.Tls;

/// <summary>
/// The transport <see cref="System.Net.Security.SslStream"/> reads and writes: the cipher side of the TLS stage.
/// A read takes from the chunk the stage delivered last; once that is used up it asks the stage for the next one
/// (the backpressure towards the client socket) and stays pending until <see cref="Deliver"/>. The pending read is
/// one reusable <see cref="IValueTaskSource{TResult}"/> whose continuation runs synchronously, so SslStream resumes
/// and decrypts inside the stage handler that delivered the chunk. A zero-byte read completes as soon as a chunk
/// (or the end) is there, without taking from it. A write hands a copy of the cipher text to the stage and is done
/// at once; the stage bounds what it queues by not writing more plain text until that is sent.
/// </summary>
internal sealed class CipherPipe : AsyncOnlyStream, IValueTaskSource<int>
{
    private readonly object _gate = new();
    private readonly Action _requestCipher;
    private readonly Action<ByteString> _sendCipher;
    private ManualResetValueTaskSourceCore<int> _read = new() { RunContinuationsAsynchronously = false };
    private ByteString _chunk = ByteString.Empty;
    private int _chunkRead;
    private Memory<byte> _readInto;
    private bool _reading;
    private bool _eof;

    /// <param name="requestCipher">Asks the stage for the next chunk from the client socket.</param>
    /// <param name="sendCipher">Hands cipher text (owned by the callee) to the stage, to push towards the client.</param>
    public CipherPipe(Action requestCipher, Action<ByteString> sendCipher)
    {
        _requestCipher = requestCipher;
        _sendCipher = sendCipher;
    }

    /// <summary>The next chunk from the client socket, after <c>requestCipher</c>: completes the pending read on this thread.</summary>
    public void Deliver(ByteString chunk)
    {
        if (chunk.IsEmpty)
        {
            // Completing the read with 0 would tell SslStream the client closed: ask for the next chunk instead.
            _requestCipher();
            return;
        }

        int taken;
        lock (_gate)
        {
            // Chunks from the socket are one array each, read in place; anything else is copied once here.
            _chunk = chunk.Compact();
            _chunkRead = 0;
            if (!_reading)
                return;
            taken = Take(_readInto.Span);
            _reading = false;
            _readInto = default;
        }

        _read.SetResult(taken);
    }

    /// <summary>
    /// The client closed its side, or the stage stopped: a pending read, and every later one once the delivered bytes
    /// are used up, returns 0 (the end of the stream).
    /// </summary>
    public void DeliverEnd()
    {
        lock (_gate)
        {
            _eof = true;
            if (!_reading)
                return;
            _reading = false;
            _readInto = default;
        }

        _read.SetResult(0);
    }

    private bool HasChunk => _chunkRead < _chunk.Count;

    private int Take(Span<byte> buffer)
    {
        var rest = _chunk.ToReadOnlySpan()[_chunkRead..];
        var n = Math.Min(rest.Length, buffer.Length);
        rest[..n].CopyTo(buffer);
        _chunkRead += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        short version;
        lock (_gate)
        {
            if (HasChunk)
                return new ValueTask<int>(Take(buffer.Span));
            if (_eof)
                return new ValueTask<int>(0);
            if (_reading)
                throw new InvalidOperationException("one read at a time");

            _read.Reset();
            _reading = true;
            _readInto = buffer;
            version = _read.Version;
        }

        _requestCipher();
        return new ValueTask<int>(this, version);
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // SslStream reuses its buffer once the write returns: the stage gets bytes of its own.
        _sendCipher(ByteString.FromBytes(buffer.ToArray()));
        return ValueTask.CompletedTask;
    }
}
