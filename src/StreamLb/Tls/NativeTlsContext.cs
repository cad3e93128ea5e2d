using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using StreamLb.Configuration;

namespace StreamLb.Tls;

/// <summary>
/// A server block's OpenSSL context (SSL_CTX): certificate chain, key, protocols and suites, loaded once; each
/// connection's session is made from it and shares its session cache and ticket keys.
/// </summary>
internal sealed class NativeTlsContext : IDisposable
{
    // An empty password for any encrypted key, so that OpenSSL fails to load it instead of asking on the terminal.
    private static readonly nint NoPassword = Marshal.StringToHGlobalAnsi("");

    private NativeTlsContext(SafeSslContext handle) => Handle = handle;

    public SafeSslContext Handle { get; }

    public static NativeTlsContext Create(TlsConfig tls)
    {
        OpenSsl.ERR_clear_error();
        var handle = SafeSslContext.New();
        if (handle.IsInvalid)
            throw Failed("making a context");
        var context = new NativeTlsContext(handle);
        try
        {
            OpenSsl.SSL_CTX_set_default_passwd_cb_userdata(handle, NoPassword);
            if (OpenSsl.SSL_CTX_use_certificate_chain_file(handle, tls.CertificatePath) != 1)
                throw Failed($"loading the certificate chain \"{tls.CertificatePath}\"");
            if (OpenSsl.SSL_CTX_use_PrivateKey_file(handle, tls.KeyPath, OpenSsl.FiletypePem) != 1)
                throw Failed($"loading the key \"{tls.KeyPath}\" of the certificate \"{tls.CertificatePath}\"");
            if (OpenSsl.SSL_CTX_check_private_key(handle) != 1)
                throw Failed($"matching the key \"{tls.KeyPath}\" to the certificate \"{tls.CertificatePath}\"");
            var (min, max) = Versions(tls.Protocols);
            if (!OpenSsl.SSL_CTX_set_min_proto_version(handle, min) || !OpenSsl.SSL_CTX_set_max_proto_version(handle, max))
                throw Failed("setting the protocol versions");
            OpenSsl.SSL_CTX_set_options(handle, OpenSsl.OptionNoRenegotiation);
            // An idle connection holds no record buffers (as nginx sets it).
            OpenSsl.SSL_CTX_set_mode(handle, OpenSsl.ModeReleaseBuffers);
            if (tls.CipherSuites is { } suites)
                SetSuites(handle, suites);
            return context;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    private static (int Min, int Max) Versions(SslProtocols protocols) =>
        (protocols.HasFlag(SslProtocols.Tls12), protocols.HasFlag(SslProtocols.Tls13)) switch
        {
            (true, true) => (OpenSsl.Tls12Version, OpenSsl.Tls13Version),
            (true, false) => (OpenSsl.Tls12Version, OpenSsl.Tls12Version),
            (false, true) => (OpenSsl.Tls13Version, OpenSsl.Tls13Version),
            _ => throw new AuthenticationException($"TLS: no protocol this server speaks in {protocols}"),
        };

    /// <summary>Exactly the named suites: a protocol none of them belongs to has none (as .NET's cipher suite policy).</summary>
    private static void SetSuites(SafeSslContext handle, IReadOnlyList<TlsCipherSuite> suites)
    {
        var tls13 = suites.Where(CipherSuiteNames.IsTls13).Select(s => s.ToString());
        var tls12 = suites.Where(s => !CipherSuiteNames.IsTls13(s)).Select(CipherSuiteNames.OpenSslName).ToList();
        if (OpenSsl.SSL_CTX_set_ciphersuites(handle, string.Join(':', tls13)) != 1)
            throw Failed("setting the TLS 1.3 suites");
        // OpenSSL refuses an empty TLS 1.2 list; one that matches nothing turns TLS 1.2's suites off.
        if (OpenSsl.SSL_CTX_set_cipher_list(handle, tls12.Count > 0 ? string.Join(':', tls12) : "!ALL") != 1 && tls12.Count > 0)
            throw Failed("setting the TLS 1.2 suites");
        OpenSsl.ERR_clear_error();
    }

    private static AuthenticationException Failed(string what) =>
        new($"TLS: {what} failed: {OpenSsl.TakeErrors() ?? "no OpenSSL error"}");

    public void Dispose() => Handle.Dispose();
}
