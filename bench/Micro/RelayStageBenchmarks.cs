using System.Net;
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

    private static readonly Flow<ByteString, ByteString, Task<EndPoint>> Echo =
        Flow.Create<ByteString>().MapMaterializedValue(_ => Task.FromResult<EndPoint>(new IPEndPoint(IPAddress.Loopback, 1)));

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
        var (control, received) = Source.From(_frames)
            .ViaMaterialized(RelayStage.Create(TimeSpan.Zero, halfClose: true), Keep.Right)
            .ToMaterialized(Sink.Aggregate<ByteString, long>(0L, (bytes, frame) => bytes + frame.Count), Keep.Both)
            .Run(_materializer);
        await control.Connect(Echo);
        var total = await received;
        if (total != (long)Frames * FrameSize)
            throw new InvalidOperationException($"relayed {total} bytes, expected {(long)Frames * FrameSize}");
        return total;
    }
}
