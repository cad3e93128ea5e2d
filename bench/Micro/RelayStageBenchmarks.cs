using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using BenchmarkDotNet.Attributes;
using StreamLb.Relay;

namespace StreamLb.Micro;

/// <summary>
/// Frames through <see cref="RelayStage"/> in memory: client source → relay → in-memory echo "upstream" → relay →
/// counting sink. One invocation relays <see cref="Frames"/> frames both ways; the figure is per frame.
/// </summary>
[MemoryDiagnoser]
public class RelayStageBenchmarks
{
    private const int Frames = 1000;

    private ActorSystem _system = null!;
    private IMaterializer _materializer = null!;
    private ByteString[] _frames = [];

    [Params(1024, 16 * 1024, 64 * 1024)]
    public int FrameSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("relay-micro", "akka.loglevel = WARNING");
        _materializer = _system.Materializer();
        var frame = ByteString.FromBytes(new byte[FrameSize]);
        _frames = Enumerable.Repeat(frame, Frames).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Benchmark(OperationsPerInvoke = Frames)]
    public async Task<long> RelayFrame()
    {
        // Half-close on: the client finishing is passed upstream, and the echo's end completes the relay, so every
        // frame comes back before the sink completes.
        // The "upstream" echoes at once: joined to the relay's upstream side, it asks for bytes from the start.
        var received = Source.From(_frames)
            .Via(RelayStage.Create(TimeSpan.Zero, halfClose: true).Join(Flow.Create<ByteString>()))
            .RunWith(Sink.Aggregate<ByteString, long>(0L, (bytes, frame) => bytes + frame.Count), _materializer);
        var total = await received;
        if (total != (long)Frames * FrameSize)
            throw new InvalidOperationException($"relayed {total} bytes, expected {(long)Frames * FrameSize}");
        return total;
    }
}
