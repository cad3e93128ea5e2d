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
            SetProtocols(handle, tls.Protocols);
            OpenSsl.SSL_CTX_set_options(handle, OpenSsl.OptionNoRenegotiation);
            // An idle connection holds no record buffers (as nginx sets it).
            OpenSsl.SSL_CTX_set_mode(handle, OpenSsl.ModeReleaseBuffers);
            // nginx's default (ssl_session_cache none): sessions resume from their tickets only; no session is kept
            // here, and none is swept from a cache every 255 handshakes.
            OpenSsl.SSL_CTX_set_session_cache_mode(handle, OpenSsl.SessionCacheServer | OpenSsl.SessionCacheNoAutoClear | OpenSsl.SessionCacheNoInternalStore);
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

#pragma warning disable SYSLIB0039 // TLSv1 and TLSv1.1 as nginx takes them; whether they work is OpenSSL's call (its security level)
    private static readonly (SslProtocols Protocol, int Version, ulong Off)[] Protocols =
    [
        (SslProtocols.Tls, 0x0301, 1UL << 26),
        (SslProtocols.Tls11, 0x0302, 1UL << 28),
        (SslProtocols.Tls12, OpenSsl.Tls12Version, 1UL << 27),
        (SslProtocols.Tls13, OpenSsl.Tls13Version, 1UL << 29),
    ];
#pragma warning restore SYSLIB0039

    /// <summary>The listed versions: from the lowest to the highest, less any left out between them (as nginx does).</summary>
    private static void SetProtocols(SafeSslContext handle, SslProtocols protocols)
    {
        var listed = Protocols.Where(p => protocols.HasFlag(p.Protocol)).ToList();
        if (listed.Count == 0)
            throw new AuthenticationException($"TLS: no protocol this server speaks in {protocols}");
        if (!OpenSsl.SSL_CTX_set_min_proto_version(handle, listed[0].Version) || !OpenSsl.SSL_CTX_set_max_proto_version(handle, listed[^1].Version))
            throw Failed("setting the protocol versions");
        foreach (var (protocol, version, off) in Protocols)
        {
            if (version > listed[0].Version && version < listed[^1].Version && !protocols.HasFlag(protocol))
                OpenSsl.SSL_CTX_set_options(handle, off);
        }
    }

    /// <summary>
    /// The named suites, per protocol as nginx has them: names of TLS 1.2 suites make TLS 1.2's list and names of TLS
    /// 1.3 suites TLS 1.3's; a protocol the list names no suite of keeps its default suites, so that a classic
    /// TLS 1.2 list leaves TLS 1.3 working.
    /// </summary>
    private static void SetSuites(SafeSslContext handle, IReadOnlyList<TlsCipherSuite> suites)
    {
        var tls13 = suites.Where(CipherSuiteNames.IsTls13).Select(s => s.ToString()).ToList();
        var tls12 = suites.Where(s => !CipherSuiteNames.IsTls13(s)).Select(CipherSuiteNames.OpenSslName).ToList();
        if (tls13.Count > 0 && OpenSsl.SSL_CTX_set_ciphersuites(handle, string.Join(':', tls13)) != 1)
            throw Failed("setting the TLS 1.3 suites");
        if (tls12.Count > 0 && OpenSsl.SSL_CTX_set_cipher_list(handle, string.Join(':', tls12)) != 1)
            throw Failed("setting the TLS 1.2 suites");
    }

    private static AuthenticationException Failed(string what) =>
        new($"TLS: {what} failed: {OpenSsl.TakeErrors() ?? "no OpenSSL error"}");

    public void Dispose() => Handle.Dispose();
}
