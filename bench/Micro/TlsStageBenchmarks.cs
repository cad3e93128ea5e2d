using System.Net.Security;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using BenchmarkDotNet.Attributes;
using StreamLb.Configuration;
using StreamLb.Tests.Tls;
using StreamLb.Tls;

namespace StreamLb.Micro;

/// <summary>
/// The TLS stage of each engine (<see cref="TlsEngine.OpenSsl"/>, <see cref="TlsEngine.SslStream"/>) in memory: an <see cref="SslStream"/> client over a <see cref="ChannelStream"/> (the tests'
/// in-memory socket), wired to a graph of channel source → TLS stage (plain side echoed) → channel sink. No sockets
/// are involved.
/// </summary>
[MemoryDiagnoser]
public class TlsStageBenchmarks
{
    private const int WriteSize = 16 * 1024;
    private const int WritesPerMiB = 1024 * 1024 / WriteSize;
    private const int RoundTrips = 100;
    private const int RequestSize = 64;

    private ActorSystem _system = null!;
    private IMaterializer _materializer = null!;
    private ServerTls _server = null!;
    private string _certificateDir = "";
    private Session? _session;
    private readonly byte[] _payload = new byte[WriteSize];
    private readonly byte[] _readBuffer = new byte[WriteSize];

    [Params(TlsEngine.OpenSsl, TlsEngine.SslStream)]
    public TlsEngine Engine { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _certificateDir = Path.Combine(Path.GetTempPath(), "streamlb-micro-" + Guid.NewGuid().ToString("N"));
        var certificate = Path.Combine(_certificateDir, "cert.pem");
        var key = Path.Combine(_certificateDir, "key.pem");
        DevelopmentCertificate.Write(certificate, key);
        _server = ServerTls.Create(new TlsConfig { CertificatePath = certificate, KeyPath = key }, Engine);
        _system = ActorSystem.Create("tls-micro", "akka.loglevel = WARNING");
        _materializer = _system.Materializer();
        Random.Shared.NextBytes(_payload);
    }

    [GlobalSetup(Targets = [nameof(EchoOneMiB), nameof(RoundTrip)])]
    public void SetupSession()
    {
        Setup();
        _session = Connect().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_session is not null)
            _session.CloseAsync().GetAwaiter().GetResult();
        _system.Terminate().Wait(TimeSpan.FromSeconds(10));
        _server.Dispose();
        Directory.Delete(_certificateDir, recursive: true);
    }

    /// <summary>A new connection: full handshake (TLS 1.3 where offered), then close_notify both ways and the graph's end.</summary>
    [Benchmark]
    public async Task HandshakeAndClose()
    {
        var session = await Connect();
        await session.CloseAsync();
    }

    /// <summary>1 MiB in 16 KiB writes, echoed back and read by the client: MiB/s = 1 s / the mean.</summary>
    [Benchmark]
    public async Task EchoOneMiB()
    {
        var ssl = _session!.Client;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < WritesPerMiB; i++)
                await ssl.WriteAsync(_payload);
        });
        var remaining = WritesPerMiB * WriteSize;
        while (remaining > 0)
        {
            var read = await ssl.ReadAsync(_readBuffer);
            if (read == 0)
                throw new IOException("the echo ended early");
            remaining -= read;
        }

        await writer;
    }

    /// <summary>
    /// A keep-alive request/response exchange: 64 B written, the 64 B echo awaited, 100 times; reported per round trip.
    /// Each round trip is one TLS record each way, so this is the per-record cost of the stage.
    /// </summary>
    [Benchmark(OperationsPerInvoke = RoundTrips)]
    public async Task RoundTrip()
    {
        var ssl = _session!.Client;
        var request = _payload.AsMemory(0, RequestSize);
        for (var i = 0; i < RoundTrips; i++)
        {
            await ssl.WriteAsync(request);
            var remaining = RequestSize;
            while (remaining > 0)
            {
                var read = await ssl.ReadAsync(_readBuffer);
                if (read == 0)
                    throw new IOException("the echo ended early");
                remaining -= read;
            }
        }
    }

    private async Task<Session> Connect()
    {
        var toServer = Channel.CreateBounded<ByteString>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        var toClient = Channel.CreateBounded<ByteString>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
        var toClientSink = Flow.Create<ByteString>().WatchTermination(Keep.Right).To(ChannelSink.FromWriter(toClient.Writer, isOwner: true));
        var done = Flow.FromSinkAndSource(toClientSink, ChannelSource.FromReader(toServer.Reader), Keep.Left)
            .JoinMaterialized(_server.Stage(), Keep.Left)
            .Join(Flow.Create<ByteString>())
            .Run(_materializer);

        var client = new SslStream(new ChannelStream(toClient.Reader, toServer.Writer), leaveInnerStreamOpen: false);
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return new Session(client, toServer.Writer, done);
    }

    private sealed record Session(SslStream Client, ChannelWriter<ByteString> ToServer, Task<Done> Done)
    {
        public async Task CloseAsync()
        {
            await Client.ShutdownAsync();
            // The server answers close_notify with its own, then the graph ends.
            var buffer = new byte[256];
            while (await Client.ReadAsync(buffer) > 0)
            {
            }

            ToServer.Complete();
            await Done.WaitAsync(TimeSpan.FromSeconds(10));
            await Client.DisposeAsync();
        }
    }
}
