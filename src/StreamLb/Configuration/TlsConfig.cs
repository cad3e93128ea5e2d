using System.Net.Security;
using System.Security.Authentication;

namespace StreamLb.Configuration;

/// <summary>The <c>ssl_*</c> directives of a server block.</summary>
public sealed record TlsConfig
{
    /// <summary>PEM certificate (chain) file, absolute.</summary>
    public required string CertificatePath { get; init; }

    /// <summary>PEM private key file, absolute.</summary>
    public required string KeyPath { get; init; }

    public SourceLocation CertificateLocation { get; init; }

    public SourceLocation KeyLocation { get; init; }

    /// <summary>nginx's default: <c>TLSv1.2 TLSv1.3</c>.</summary>
    public SslProtocols Protocols { get; init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Explicit suites of <c>ssl_ciphers</c>; null keeps the system's default list.</summary>
    public IReadOnlyList<TlsCipherSuite>? CipherSuites { get; init; }

    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
