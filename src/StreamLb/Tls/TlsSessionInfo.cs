using System.Net.Security;
using System.Security.Authentication;

namespace StreamLb.Tls;

/// <summary>What the handshake agreed on, for the connection's log line.</summary>
/// <param name="Resumed">
/// Whether the client resumed an earlier session (a ticket, or TLS 1.2's session id) instead of a full handshake, as
/// nginx's <c>$ssl_session_reused</c>; null where the engine cannot tell (SslStream).
/// </param>
public sealed record TlsSessionInfo(SslProtocols Protocol, TlsCipherSuite CipherSuite, string? ServerName, bool? Resumed = null)
{
    public override string ToString() =>
        $"{Protocol} {CipherSuite}{(ServerName is null ? "" : $" sni={ServerName}")}{(Resumed == true ? " resumed" : "")}";
}
