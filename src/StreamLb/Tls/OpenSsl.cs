using System.Runtime.InteropServices;

namespace StreamLb.Tls;

/// <summary>The system's OpenSSL 3 (libssl, libcrypto): the calls the native TLS stage makes.</summary>
internal static unsafe partial class OpenSsl
{
    private const string Ssl = "libssl.so.3";
    private const string Crypto = "libcrypto.so.3";

    public const int FiletypePem = 1;
    public const int ErrorNone = 0;
    public const int ErrorSsl = 1;
    public const int ErrorWantRead = 2;
    public const int ErrorWantWrite = 3;
    public const int ErrorSyscall = 5;
    public const int ErrorZeroReturn = 6;
    public const int Tls12Version = 0x0303;
    public const int Tls13Version = 0x0304;
    public const long ModeReleaseBuffers = 0x10;
    public const ulong OptionNoRenegotiation = 1UL << 30;

    public const long SessionCacheServer = 0x2;
    public const long SessionCacheNoAutoClear = 0x80;
    public const long SessionCacheNoInternalStore = 0x200;

    private const int CtrlMode = 33;
    private const int CtrlSetSessionCacheMode = 44;
    private const int CtrlSetMinProtoVersion = 123;
    private const int CtrlSetMaxProtoVersion = 124;
    private const int BioCtrlPending = 10;

    private static readonly Lazy<string?> Loaded = new(Load);

    /// <summary>OpenSSL's version line when libssl 3 and libcrypto 3 load here, else null (.NET's SslStream serves).</summary>
    public static string? Version => Loaded.Value;

    private static string? Load()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(Ssl, out _) || !NativeLibrary.TryLoad(Crypto, out _))
            return null;
        try
        {
            return OpenSSL_version_num() >= 0x3000_0000UL ? Marshal.PtrToStringUTF8(OpenSSL_version(0)) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    [LibraryImport(Crypto)] private static partial ulong OpenSSL_version_num();
    [LibraryImport(Crypto)] private static partial nint OpenSSL_version(int type);

    [LibraryImport(Ssl)] public static partial nint TLS_server_method();
    [LibraryImport(Ssl)] public static partial nint SSL_CTX_new(nint method);
    [LibraryImport(Ssl)] public static partial void SSL_CTX_free(nint context);
    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)] public static partial int SSL_CTX_use_certificate_chain_file(SafeSslContext context, string file);
    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)] public static partial int SSL_CTX_use_PrivateKey_file(SafeSslContext context, string file, int type);
    [LibraryImport(Ssl)] public static partial int SSL_CTX_check_private_key(SafeSslContext context);
    [LibraryImport(Ssl)] private static partial long SSL_CTX_ctrl(SafeSslContext context, int command, long larg, nint parg);
    [LibraryImport(Ssl)] public static partial ulong SSL_CTX_set_options(SafeSslContext context, ulong options);
    [LibraryImport(Ssl)] public static partial void SSL_CTX_set_default_passwd_cb_userdata(SafeSslContext context, nint userdata);
    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)] public static partial int SSL_CTX_set_cipher_list(SafeSslContext context, string list);
    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)] public static partial int SSL_CTX_set_ciphersuites(SafeSslContext context, string list);
    [LibraryImport(Ssl)] public static partial nint SSL_new(SafeSslContext context);
    [LibraryImport(Ssl)] public static partial void SSL_free(nint ssl);
    [LibraryImport(Ssl)] public static partial void SSL_set_bio(nint ssl, nint readBio, nint writeBio);
    [LibraryImport(Ssl)] public static partial void SSL_set_accept_state(nint ssl);
    [LibraryImport(Ssl)] public static partial int SSL_do_handshake(nint ssl);
    [LibraryImport(Ssl)] public static partial int SSL_read(nint ssl, byte* buffer, int count);
    [LibraryImport(Ssl)] public static partial int SSL_write(nint ssl, byte* buffer, int count);
    [LibraryImport(Ssl)] public static partial int SSL_shutdown(nint ssl);
    [LibraryImport(Ssl)] public static partial int SSL_get_error(nint ssl, int result);
    [LibraryImport(Ssl)] public static partial int SSL_version(nint ssl);
    [LibraryImport(Ssl)] public static partial nint SSL_get_current_cipher(nint ssl);
    [LibraryImport(Ssl)] public static partial ushort SSL_CIPHER_get_protocol_id(nint cipher);
    [LibraryImport(Ssl)] public static partial nint SSL_get_servername(nint ssl, int type);
    [LibraryImport(Ssl)] public static partial int SSL_session_reused(nint ssl);
    [LibraryImport(Ssl)] public static partial int SSL_has_pending(nint ssl);

    [LibraryImport(Crypto)] public static partial nint BIO_s_mem();
    [LibraryImport(Crypto)] public static partial nint BIO_new(nint method);
    [LibraryImport(Crypto)] public static partial void BIO_free(nint bio); // null is fine
    [LibraryImport(Crypto)] public static partial int BIO_write(nint bio, byte* data, int count);
    [LibraryImport(Crypto)] public static partial int BIO_read(nint bio, byte* data, int count);
    [LibraryImport(Crypto)] private static partial long BIO_ctrl(nint bio, int command, long larg, nint parg);
    [LibraryImport(Crypto)] public static partial ulong ERR_get_error();
    [LibraryImport(Crypto)] public static partial void ERR_error_string_n(ulong error, byte* buffer, nuint length);
    [LibraryImport(Crypto)] public static partial void ERR_clear_error();
    [LibraryImport(Crypto)] public static partial ulong ERR_peek_error();

    /// <summary>
    /// Empties this thread's error queue, as every TLS call must find it (SSL_get_error reads it). Mostly it is empty
    /// already: a look is then all it costs, where ERR_clear_error resets each of the queue's sixteen slots (two
    /// free(NULL) each), before each of a connection's dozens of calls.
    /// </summary>
    public static void ClearErrors()
    {
        if (ERR_peek_error() != 0)
            ERR_clear_error();
    }

    public static long SSL_CTX_set_mode(SafeSslContext context, long mode) => SSL_CTX_ctrl(context, CtrlMode, mode, 0);
    public static long SSL_CTX_set_session_cache_mode(SafeSslContext context, long mode) => SSL_CTX_ctrl(context, CtrlSetSessionCacheMode, mode, 0);
    public static bool SSL_CTX_set_min_proto_version(SafeSslContext context, int version) => SSL_CTX_ctrl(context, CtrlSetMinProtoVersion, version, 0) == 1;
    public static bool SSL_CTX_set_max_proto_version(SafeSslContext context, int version) => SSL_CTX_ctrl(context, CtrlSetMaxProtoVersion, version, 0) == 1;
    public static int BIO_ctrl_pending(nint bio) => (int)BIO_ctrl(bio, BioCtrlPending, 0, 0);

    /// <summary>The thread's queued OpenSSL errors as one line (and the queue emptied), or null when there are none.</summary>
    public static string? TakeErrors()
    {
        string? text = null;
        var buffer = stackalloc byte[256];
        for (var error = ERR_get_error(); error != 0; error = ERR_get_error())
        {
            ERR_error_string_n(error, buffer, 256);
            var one = Marshal.PtrToStringUTF8((nint)buffer);
            text = text is null ? one : $"{text}; {one}";
        }

        return text;
    }
}

/// <summary>An SSL_CTX: freed once no one uses it (each session made from it holds a reference of OpenSSL's own).</summary>
internal sealed class SafeSslContext() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    public static SafeSslContext New()
    {
        var context = new SafeSslContext();
        context.SetHandle(OpenSsl.SSL_CTX_new(OpenSsl.TLS_server_method()));
        return context;
    }

    protected override bool ReleaseHandle()
    {
        OpenSsl.SSL_CTX_free(handle);
        return true;
    }
}
