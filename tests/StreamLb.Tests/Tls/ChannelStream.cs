using System.Threading.Channels;
using Akka.IO;

namespace StreamLb.Tests.Tls;

/// <summary>
/// A duplex <see cref="Stream"/> over two channels, standing in for a socket in memory: reads take from
/// <c>incoming</c> (its completion reads as the peer's FIN), writes put a copy of the bytes into <c>outgoing</c>.
/// Also linked into bench/Micro, whose TLS client talks to the stage the same way.
/// </summary>
internal sealed class ChannelStream(ChannelReader<ByteString> incoming, ChannelWriter<ByteString> outgoing) : Stream
{
    private ByteString _chunk = ByteString.Empty;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_chunk.IsEmpty)
        {
            if (!await incoming.WaitToReadAsync(cancellationToken))
                return 0;
            if (incoming.TryRead(out var next))
                _chunk = next;
        }

        var count = Math.Min(buffer.Length, _chunk.Count);
        _chunk.ToReadOnlySpan()[..count].CopyTo(buffer.Span);
        _chunk = _chunk.Slice(count);
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        outgoing.WriteAsync(ByteString.FromBytes(buffer.ToArray()), cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
