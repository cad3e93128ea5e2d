using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using StreamLb.Configuration;

namespace StreamLb.Tls;

/// <summary>Builds the server-side TLS options of a listener once; every connection of the listener shares them.</summary>
public static class ServerTlsOptions
{
    // OpenSSL's default TLS 1.3 suites, in its order.
    private static readonly TlsCipherSuite[] DefaultTls13 =
        [TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256];

    public static SslServerAuthenticationOptions Create(TlsConfig tls)
    {
        var certificate = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(tls.CertificatePath);
        var intermediates = new X509Certificate2Collection();
        foreach (var extra in chain.Skip(1))
            intermediates.Add(extra);

        return new SslServerAuthenticationOptions
        {
            // A context built once holds the chain and OCSP state, so no handshake rebuilds them.
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true),
            EnabledSslProtocols = tls.Protocols,
            CipherSuitesPolicy = tls.CipherSuites is { } suites && !OperatingSystem.IsWindows() ? new CipherSuitesPolicy(WithTls13(suites, tls.Protocols)) : null,
            ClientCertificateRequired = false,
            AllowRenegotiation = false,
            ApplicationProtocols = null,
        };
    }

    /// <summary>
    /// A list that names no TLS 1.3 suite leaves TLS 1.3 its defaults, as in nginx (whose <c>ssl_ciphers</c> is TLS 1.2's
    /// list): the policy is one list for both, and one without TLS 1.3 suites would fail every TLS 1.3 handshake.
    /// </summary>
    private static IEnumerable<TlsCipherSuite> WithTls13(IReadOnlyList<TlsCipherSuite> suites, SslProtocols protocols) =>
        protocols.HasFlag(SslProtocols.Tls13) && !suites.Any(CipherSuiteNames.IsTls13) ? suites.Concat(DefaultTls13) : suites;
}
