using System.Net.Security;
using System.Security.Authentication;
using System.Threading.Channels;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using StreamLb.Configuration;
using StreamLb.Tests.Integration;
using StreamLb.Tls;

namespace StreamLb.Tests.Tls;

/// <summary>
/// An <see cref="SslStream"/> client joined to one TLS server stage (either engine's) through two in-memory channels that
/// stand for the socket: the client's writes are the stage's cipher input, the stage's cipher output is what the
/// client reads, and the end of the cipher output reads as the socket's FIN.
/// </summary>
internal sealed class InMemoryTlsConnection<TPlain> : IAsyncDisposable
{
    private static readonly Dictionary<TlsEngine, ServerTls> Servers = [];

    private readonly ChannelWriter<ByteString> _toServer;

    private InMemoryTlsConnection(SslStream client, ChannelWriter<ByteString> toServer, Task<TlsSessionInfo> handshake, TPlain plain, Task cipherOutDone)
    {
        Client = client;
        _toServer = toServer;
        Handshake = handshake;
        Plain = plain;
        CipherOutDone = cipherOutDone;
    }

    public SslStream Client { get; }

    /// <summary>The stage's materialized value.</summary>
    public Task<TlsSessionInfo> Handshake { get; }

    /// <summary>What the plain side flow materialized to.</summary>
    public TPlain Plain { get; }

    /// <summary>Completes when the stage completes its cipher output (the server's FIN), fails when the stage fails.</summary>
    public Task CipherOutDone { get; }

    /// <summary>The test certificate's server TLS on <paramref name="engine"/>, loaded once per engine.</summary>
    public static ServerTls Server(TlsEngine engine)
    {
        lock (Servers)
        {
            if (!Servers.TryGetValue(engine, out var server))
                Servers[engine] = server = ServerTls.Create(new TlsConfig { CertificatePath = TestCertificate.CertificatePath, KeyPath = TestCertificate.KeyPath }, engine);
            return server;
        }
    }

    /// <summary>Starts the stage with <paramref name="plain"/> on its plain side; the client does not handshake yet.</summary>
    public static InMemoryTlsConnection<TPlain> Start(Flow<ByteString, ByteString, TPlain> plain, IMaterializer materializer, TlsEngine engine) =>
        Start(plain, materializer, Server(engine));

    public static InMemoryTlsConnection<TPlain> Start(Flow<ByteString, ByteString, TPlain> plain, IMaterializer materializer, ServerTls server)
    {
        var toServer = Channel.CreateBounded<ByteString>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        var toClient = Channel.CreateBounded<ByteString>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        var toClientSink = Flow.Create<ByteString>().WatchTermination(Keep.Right).To(ChannelSink.FromWriter(toClient.Writer, isOwner: true));
        var socket = Flow.FromSinkAndSource(toClientSink, ChannelSource.FromReader(toServer.Reader), Keep.Left);
        var ((cipherOutDone, handshake), plainValue) = socket
            .JoinMaterialized(server.Stage(), Keep.Both)
            .JoinMaterialized(plain, Keep.Both)
            .Run(materializer);
        var client = new SslStream(new ChannelStream(toClient.Reader, toServer.Writer), leaveInnerStreamOpen: false);
        return new InMemoryTlsConnection<TPlain>(client, toServer.Writer, handshake.Task, plainValue, cipherOutDone);
    }

    public Task AuthenticateAsync(SslProtocols protocols = SslProtocols.None) => Client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
    {
        TargetHost = "localhost",
        EnabledSslProtocols = protocols,
        RemoteCertificateValidationCallback = (_, _, _, _) => true,
    });

    /// <summary>Sends raw bytes to the stage, around the client's TLS.</summary>
    public ValueTask SendRawAsync(byte[] bytes) => _toServer.WriteAsync(ByteString.FromBytes(bytes));

    /// <summary>The client's FIN: its cipher text ends, with or without close_notify before it.</summary>
    public void CloseSending() => _toServer.TryComplete();

    /// <summary>Reads exactly <paramref name="count"/> plain bytes, or fewer if the server's side ends first.</summary>
    public async Task<byte[]> ReadAsync(int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await Client.ReadAsync(buffer.AsMemory(read));
            if (n == 0)
                return buffer[..read];
            read += n;
        }

        return buffer;
    }

    public async ValueTask DisposeAsync()
    {
        CloseSending();
        await Client.DisposeAsync();
    }
}
