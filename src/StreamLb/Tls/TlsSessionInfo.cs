using System.Net.Security;
using System.Security.Authentication;

namespace StreamLb.Tls;

/// <summary>What the handshake agreed on, for the connection's log line.</summary>
public sealed record TlsSessionInfo(SslProtocols Protocol, TlsCipherSuite CipherSuite, string? ServerName)
{
    public override string ToString() => $"{Protocol} {CipherSuite}{(ServerName is null ? "" : $" sni={ServerName}")}";
}
