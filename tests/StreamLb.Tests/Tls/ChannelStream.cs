using System.Threading.Channels;
using Akka.IO;
using StreamLb.Tls;

namespace StreamLb.Tests.Tls;

/// <summary>
/// A duplex <see cref="Stream"/> over two channels, standing in for a socket in memory: reads take from
/// <c>incoming</c> (its completion reads as the peer's FIN), writes put a copy of the bytes into <c>outgoing</c>.
/// Also linked into bench/Micro, whose TLS client talks to the stage the same way.
/// </summary>
internal sealed class ChannelStream(ChannelReader<ByteString> incoming, ChannelWriter<ByteString> outgoing) : AsyncOnlyStream
{
    private ByteString _chunk = ByteString.Empty;

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

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        outgoing.WriteAsync(ByteString.FromBytes(buffer.ToArray()), cancellationToken);
}
