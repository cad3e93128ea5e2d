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

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_list_of_TLS_1_2_suites_sets_TLS_1_2s_and_leaves_TLS_1_3_its_own(TlsEngine engine)
    {
        // A classic nginx ssl_ciphers list names TLS 1.2 suites only; TLS 1.3 must go on working beside it.
        using var server = ServerTls.Create(Config with { CipherSuites = [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] }, engine);

        await using (var both = Echo(server))
        {
            await both.AuthenticateAsync().WaitAsync(Patience);
            Assert.Equal(SslProtocols.Tls13, (await both.Handshake.WaitAsync(Patience)).Protocol);
            await EchoesAsync(both);
        }

        await using var tls12 = Echo(server);
        await tls12.AuthenticateAsync(SslProtocols.Tls12).WaitAsync(Patience);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, (await tls12.Handshake.WaitAsync(Patience)).CipherSuite);
        await EchoesAsync(tls12);
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task A_client_whose_connection_ends_inside_a_record_fails_the_stage_instead_of_ending_cleanly(TlsEngine engine)
    {
        using var server = ServerTls.Create(Config, engine);
        await using var connection = Echo(server);
        await connection.AuthenticateAsync().WaitAsync(Patience);
        await connection.Handshake.WaitAsync(Patience);

        // An application data record's header announcing 64 bytes, three of them sent, then the client's FIN.
        await connection.SendRawAsync([0x17, 0x03, 0x03, 0x00, 0x40, 1, 2, 3]);
        connection.CloseSending();

        // Ending cleanly, the echo's plain output would end too, and the cipher output after close_notify.
        await Assert.ThrowsAnyAsync<Exception>(() => connection.CipherOutDone.WaitAsync(Patience));
    }

    [Theory]
    [InlineData(TlsEngine.OpenSsl)]
    [InlineData(TlsEngine.SslStream)]
    public async Task Plain_text_of_many_records_in_one_element_reaches_the_client_whole(TlsEngine engine)
    {
        var payload = new byte[200_000];
        new Random(11).NextBytes(payload);
        using var server = ServerTls.Create(Config, engine);
        var plain = Flow.FromSinkAndSource(Sink.Ignore<ByteString>().MapMaterializedValue(_ => NotUsed.Instance),
            Source.Single(ByteString.FromBytes(payload)).Concat(Source.Never<ByteString>()), Keep.None);
        await using var connection = InMemoryTlsConnection<NotUsed>.Start(plain, Sys.Materializer(), server);
        await connection.AuthenticateAsync().WaitAsync(Patience);

        Assert.Equal(payload, await connection.ReadAsync(payload.Length).WaitAsync(Patience));
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
