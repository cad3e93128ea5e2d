using System.Net.Security;
using System.Security.Authentication;

namespace StreamLb.Configuration;

/// <summary>A directive's value and where it was set; null slots in <see cref="ProxySettings"/> mean "not set here".</summary>
internal sealed record Setting<T>(T Value, SourceLocation Location);

/// <summary>
/// The directives a server block may set itself or inherit from the stream block. Fields, so the parser can fill
/// them by reference from one table.
/// </summary>
internal sealed class ProxySettings
{
    public Setting<TimeSpan>? ConnectTimeout;
    public Setting<TimeSpan>? ProxyTimeout;
    public Setting<bool>? NextUpstream;
    public Setting<int>? NextUpstreamTries;
    public Setting<TimeSpan>? NextUpstreamTimeout;
    public Setting<string>? Certificate;
    public Setting<string>? CertificateKey;
    public Setting<SslProtocols>? Protocols;
    public Setting<IReadOnlyList<TlsCipherSuite>?>? Ciphers;
    public Setting<TimeSpan>? HandshakeTimeout;

    /// <summary>These settings, with the ones not set here taken from <paramref name="outer"/>.</summary>
    public ProxySettings InheritFrom(ProxySettings outer) => new()
    {
        ConnectTimeout = ConnectTimeout ?? outer.ConnectTimeout,
        ProxyTimeout = ProxyTimeout ?? outer.ProxyTimeout,
        NextUpstream = NextUpstream ?? outer.NextUpstream,
        NextUpstreamTries = NextUpstreamTries ?? outer.NextUpstreamTries,
        NextUpstreamTimeout = NextUpstreamTimeout ?? outer.NextUpstreamTimeout,
        Certificate = Certificate ?? outer.Certificate,
        CertificateKey = CertificateKey ?? outer.CertificateKey,
        Protocols = Protocols ?? outer.Protocols,
        Ciphers = Ciphers ?? outer.Ciphers,
        HandshakeTimeout = HandshakeTimeout ?? outer.HandshakeTimeout,
    };
}
