using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Text;
using Akka;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using StreamLb.Configuration;
using StreamLb.EchoBackend;
using StreamLb.Hosting;
using StreamLb.Tests.Configuration;
using StreamLb.Tests.Integration;
using StreamLb.Tls;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Tls;

/// <summary>What <c>ssl_protocols</c>, <c>ssl_ciphers</c> and the certificate files do on either TLS engine.</summary>
public sealed class TlsEngineTests(ITestOutputHelper output) : TestKit(NodeHocon.Default, output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static TlsConfig Config => new() { CertificatePath = TestCertificate.CertificatePath, KeyPath = TestCertificate.KeyPath };

    private InMemoryTlsConnection<NotUsed> Echo(ServerTls server) =>
        InMemoryTlsConnection<NotUsed>.Start(Flow.Create<ByteString>(), Sys.Materializer(), server);

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_server_limited_to_TLS_1_3_refuses_a_TLS_1_2_client(TlsEngine engine)
    {
        using var server = ServerTls.Create(Config with { Protocols = SslProtocols.Tls13 }, engine);
        await using var connection = Echo(server);

        await Assert.ThrowsAnyAsync<Exception>(() => connection.AuthenticateAsync(SslProtocols.Tls12).WaitAsync(Patience));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.Handshake.WaitAsync(Patience));
        Assert.IsNotType<TimeoutException>(error);
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_server_limited_to_TLS_1_2_agrees_on_TLS_1_2_with_a_client_that_offers_both(TlsEngine engine)
    {
        using var server = ServerTls.Create(Config with { Protocols = SslProtocols.Tls12 }, engine);
        await using var connection = Echo(server);

        await connection.AuthenticateAsync(SslProtocols.Tls12 | SslProtocols.Tls13).WaitAsync(Patience);

        var session = await connection.Handshake.WaitAsync(Patience);
        Assert.Equal(SslProtocols.Tls12, session.Protocol);
        Assert.Equal(connection.Client.NegotiatedCipherSuite, session.CipherSuite);
        await EchoesAsync(connection);
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl, TlsCipherSuite.TLS_AES_128_GCM_SHA256)]
    [InlineData(TlsEngine.OpenSsl, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256)]
    [InlineData(TlsEngine.SslStream, TlsCipherSuite.TLS_AES_128_GCM_SHA256)]
    public async Task The_named_suite_is_the_one_agreed_on(TlsEngine engine, TlsCipherSuite suite)
    {
        // The client's first choice is TLS_AES_256_GCM_SHA384: only the server's list can make it another.
        using var server = ServerTls.Create(Config with { CipherSuites = [suite] }, engine);
        await using var connection = Echo(server);

        await connection.AuthenticateAsync().WaitAsync(Patience);

        var session = await connection.Handshake.WaitAsync(Patience);
        Assert.Equal(suite, session.CipherSuite);
        Assert.Equal(suite, connection.Client.NegotiatedCipherSuite);
        await EchoesAsync(connection);
    }

    [Fact]
    public async Task A_client_that_comes_back_resumes_its_session_on_OpenSSL()
    {
        // A server context of its own, so that no other test's session is in the client's cache for it.
        using var server = ServerTls.Create(Config, TlsEngine.OpenSsl);
        var first = await HandshakeAndEchoAsync(server);
        var second = await HandshakeAndEchoAsync(server);

        Assert.False(first.Resumed);
        Assert.True(second.Resumed); // fails if each connection got a context (and ticket keys) of its own
        Assert.Equal(SslProtocols.Tls13, second.Protocol);
    }

    private async Task<TlsSessionInfo> HandshakeAndEchoAsync(ServerTls server)
    {
        await using var connection = Echo(server);
        await connection.AuthenticateAsync().WaitAsync(Patience);
        // The echo also reads the session tickets the server sent after its handshake.
        await EchoesAsync(connection);
        return await connection.Handshake.WaitAsync(Patience);
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused_when_loading_with_both_files_named()
    {
        using var folder = new TempFolder();
        var other = Path.Combine(folder.Root, "other.key");
        DevelopmentCertificate.Write(Path.Combine(folder.Root, "other.crt"), other);

        var error = Assert.Throws<AuthenticationException>(() => ServerTls.Create(Config with { KeyPath = other }, TlsEngine.OpenSsl));

        Assert.Contains(other, error.Message);
        Assert.Contains(TestCertificate.CertificatePath, error.Message);
        Assert.Contains("key values mismatch", error.Message);
    }

    [Fact]
    public void The_default_engine_is_the_systems_OpenSSL_where_it_loads()
    {
        using var server = ServerTls.Create(Config);

        Assert.StartsWith("OpenSSL 3.", server.Engine);
    }

    [Fact]
    public async Task A_node_on_the_SslStream_engine_relays_wss_as_on_OpenSSL()
    {
        await using var echo = await EchoServer.StartAsync("127.0.0.1", 0);
        var node = await NodeHarness.StartAsync(this, TestConfigs.Tls([echo], method: ""), new NodeOptions { TlsEngine = TlsEngine.SslStream });

        var client = await WebSocketClient.ConnectAsync(node.Port());
        var (echoed, _) = await client.EchoAsync(Encoding.ASCII.GetBytes("through SslStream"), WebSocketMessageType.Text);
        await client.CloseAsync();

        Assert.Equal("through SslStream", Encoding.ASCII.GetString(echoed));
        await node.AssertDrainedAsync();
    }

    private static async Task EchoesAsync(InMemoryTlsConnection<NotUsed> connection)
    {
        var message = Encoding.ASCII.GetBytes("echo me");
        await connection.Client.WriteAsync(message);
        Assert.Equal(message, await connection.ReadAsync(message.Length).WaitAsync(Patience));
    }
}
