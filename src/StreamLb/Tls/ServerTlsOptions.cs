using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using StreamLb.Configuration;

namespace StreamLb.Tls;

/// <summary>Builds the server-side TLS options of a listener once; every connection of the listener shares them.</summary>
public static class ServerTlsOptions
{
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
            CipherSuitesPolicy = tls.CipherSuites is { } suites && !OperatingSystem.IsWindows() ? new CipherSuitesPolicy(suites) : null,
            ClientCertificateRequired = false,
            AllowRenegotiation = false,
            ApplicationProtocols = null,
        };
    }
}
