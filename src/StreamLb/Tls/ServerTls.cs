using System.Net.Security;
using Akka.IO;
using Akka.Streams.Dsl;
using StreamLb.Configuration;
using StreamLb.Connections;

namespace StreamLb.Tls;

/// <summary>Which implementation terminates TLS.</summary>
public enum TlsEngine
{
    /// <summary>OpenSSL when the system's libssl 3 loads, else SslStream.</summary>
    Auto,

    /// <summary>The system's OpenSSL 3, called directly (<see cref="NativeTlsServerStage"/>); Linux only.</summary>
    OpenSsl,

    /// <summary>.NET's SslStream (<see cref="TlsServerStage"/>), on any platform.</summary>
    SslStream,
}

/// <summary>
/// A server block's TLS, loaded once and shared by its listeners: makes the stage each connection runs. On the
/// system's OpenSSL 3 by default: it spends least per connection, doing what nginx and HAProxy do with the same
/// library; on .NET's SslStream where that library is missing, or when asked to.
/// </summary>
public sealed class ServerTls : IDisposable
{
    private readonly NativeTlsContext? _native;
    private readonly SslServerAuthenticationOptions? _managed;

    private ServerTls(NativeTlsContext? native, SslServerAuthenticationOptions? managed, string engine)
    {
        _native = native;
        _managed = managed;
        Engine = engine;
    }

    /// <summary>What terminates TLS, for the log: "OpenSSL 3.0.19 27 Jan 2026", say, or "SslStream".</summary>
    public string Engine { get; }

    /// <summary>Loads <paramref name="tls"/>'s certificate and key; throws when they or the engine asked for cannot be used.</summary>
    public static ServerTls Create(TlsConfig tls, TlsEngine engine = TlsEngine.Auto)
    {
        var openSsl = engine == TlsEngine.SslStream ? null : OpenSsl.Version;
        if (engine == TlsEngine.OpenSsl && openSsl is null)
            throw new PlatformNotSupportedException("TLS engine openssl: the system's libssl.so.3 and libcrypto.so.3 could not be loaded");
        return openSsl is not null
            ? new ServerTls(NativeTlsContext.Create(tls), null, openSsl)
            : new ServerTls(null, ServerTlsOptions.Create(tls), "SslStream");
    }

    /// <summary>A new stage: cipher side first, plain side second; materializes the handshake's outcome.</summary>
    public BidiFlow<ByteString, ByteString, ByteString, ByteString, StageOutcome<TlsSessionInfo>> Stage() => BidiFlow.FromGraph(NewStage());

    /// <summary>The stage itself, to compose a graph with (<see cref="Stage"/> is the same as a BidiFlow).</summary>
    public TlsStage NewStage() => _native is not null ? new NativeTlsServerStage(_native) : new TlsServerStage(_managed!);

    public void Dispose() => _native?.Dispose();
}
