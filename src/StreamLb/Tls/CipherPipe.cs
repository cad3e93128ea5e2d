using Akka.IO;

namespace StreamLb.Tls;

/// <summary>
/// The transport <see cref="System.Net.Security.SslStream"/> reads and writes: the cipher side of the TLS stage.
/// Reads take chunks the stage delivers (and ask it for the next one only when the last is used up, which is the
/// backpressure towards the client socket); writes hand cipher text to the stage and complete once it was pushed.
/// </summary>
internal sealed class CipherPipe : Stream
{
    private readonly object _gate = new();
    private readonly Action _requestCipher;
    private readonly Action<PendingWrite> _writeCipher;
    private ByteString _chunk = ByteString.Empty;
    private bool _eof;
    private Exception? _failure;
    private TaskCompletionSource<int>? _pendingRead;
    private Memory<byte> _pendingBuffer;

    public CipherPipe(Action requestCipher, Action<PendingWrite> writeCipher)
    {
        _requestCipher = requestCipher;
        _writeCipher = writeCipher;
    }

    /// <summary>Cipher text to push to the client; <see cref="Done"/> completes when it was pushed.</summary>
    public sealed record PendingWrite(ByteString Data, TaskCompletionSource Done);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Called by the stage with the next chunk from the client socket, after <c>requestCipher</c>.</summary>
    public void Deliver(ByteString chunk)
    {
        TaskCompletionSource<int>? reader;
        int copied;
        lock (_gate)
        {
            reader = _pendingRead;
            if (reader is null)
            {
                _chunk = chunk;
                return;
            }

            _chunk = chunk;
            copied = TakeInto(_pendingBuffer.Span);
            _pendingRead = null;
            _pendingBuffer = default;
        }

        reader.TrySetResult(copied);
    }

    /// <summary>The client closed its side: reads return 0 once the buffered bytes are used up.</summary>
    public void DeliverEnd() => Finish(null);

    /// <summary>The stage stopped or the socket failed: pending and later reads fail.</summary>
    public void Fail(Exception failure) => Finish(failure);

    private void Finish(Exception? failure)
    {
        TaskCompletionSource<int>? reader;
        lock (_gate)
        {
            _eof = true;
            _failure ??= failure;
            reader = _pendingRead;
            _pendingRead = null;
        }

        if (reader is null)
            return;
        if (failure is null)
            reader.TrySetResult(0);
        else
            reader.TrySetException(failure);
    }

    private int TakeInto(Span<byte> buffer)
    {
        var n = Math.Min(_chunk.Count, buffer.Length);
        _chunk.Slice(0, n).ToReadOnlySpan().CopyTo(buffer);
        _chunk = _chunk.Slice(n);
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<int> reader;
        lock (_gate)
        {
            if (!_chunk.IsEmpty)
                return new ValueTask<int>(TakeInto(buffer.Span));

            if (_failure is not null)
                return ValueTask.FromException<int>(_failure);
            if (_eof)
                return new ValueTask<int>(0);

            reader = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingRead = reader;
            _pendingBuffer = buffer;
        }

        _requestCipher();
        return new ValueTask<int>(reader.Task);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_failure is not null)
                return ValueTask.FromException(_failure);
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writeCipher(new PendingWrite(ByteString.FromBytes(buffer.ToArray()), done));
        return new ValueTask(done.Task);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    // SslStream is only ever used asynchronously here; a blocking call would stall the stream's thread.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
