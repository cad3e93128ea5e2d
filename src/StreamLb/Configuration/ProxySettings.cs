using System.Net.Security;
using System.Security.Authentication;

namespace StreamLb.Configuration;

/// <summary>A directive's value and where it was set; null slots in <see cref="ProxySettings"/> mean "not set here".</summary>
internal sealed record Setting<T>(T Value, SourceLocation Location);

/// <summary>
/// The directives a server block may set itself or inherit from the stream block, and how each is read. Fields, so
/// one table can fill them by reference.
/// </summary>
internal sealed class ProxySettings
{
    public Setting<TimeSpan>? ConnectTimeout;
    public Setting<TimeSpan>? ProxyTimeout;
    public Setting<bool>? NextUpstream;
    public Setting<bool>? HalfClose;
    public Setting<int>? NextUpstreamTries;
    public Setting<TimeSpan>? NextUpstreamTimeout;
    public Setting<string>? Certificate;
    public Setting<string>? CertificateKey;
    public Setting<SslProtocols>? Protocols;
    public Setting<IReadOnlyList<TlsCipherSuite>?>? Ciphers;
    public Setting<TimeSpan>? HandshakeTimeout;
    public Setting<TimeSpan>? HealthCheckTimeout;

    private delegate bool ValueParser<T>(ConfigDirective directive, ParseContext context, out T value);

    /// <summary>These settings, with the ones not set here taken from <paramref name="outer"/>.</summary>
    public ProxySettings InheritFrom(ProxySettings outer) => new()
    {
        ConnectTimeout = ConnectTimeout ?? outer.ConnectTimeout,
        ProxyTimeout = ProxyTimeout ?? outer.ProxyTimeout,
        NextUpstream = NextUpstream ?? outer.NextUpstream,
        HalfClose = HalfClose ?? outer.HalfClose,
        NextUpstreamTries = NextUpstreamTries ?? outer.NextUpstreamTries,
        NextUpstreamTimeout = NextUpstreamTimeout ?? outer.NextUpstreamTimeout,
        Certificate = Certificate ?? outer.Certificate,
        CertificateKey = CertificateKey ?? outer.CertificateKey,
        Protocols = Protocols ?? outer.Protocols,
        Ciphers = Ciphers ?? outer.Ciphers,
        HandshakeTimeout = HandshakeTimeout ?? outer.HandshakeTimeout,
        HealthCheckTimeout = HealthCheckTimeout ?? outer.HealthCheckTimeout,
    };

    /// <summary>Sets the value of <paramref name="d"/>; false when it is not one of these directives.</summary>
    public bool TryRead(ConfigDirective d, ParseContext context)
    {
        switch (d.Name)
        {
            case "proxy_connect_timeout": Set(d, context, ref ConnectTimeout, ParseTime); break;
            case "proxy_timeout": Set(d, context, ref ProxyTimeout, ParseTime); break;
            case "proxy_next_upstream": Set(d, context, ref NextUpstream, ParseFlag); break;
            case "proxy_half_close": Set(d, context, ref HalfClose, ParseFlag); break;
            case "proxy_next_upstream_tries": Set(d, context, ref NextUpstreamTries, ParseCount); break;
            case "proxy_next_upstream_timeout": Set(d, context, ref NextUpstreamTimeout, ParseTime); break;
            case "ssl_certificate": Set(d, context, ref Certificate, ParseFilePath); break;
            case "ssl_certificate_key": Set(d, context, ref CertificateKey, ParseFilePath); break;
            case "ssl_protocols": Set(d, context, ref Protocols, ParseProtocols, maxArgs: int.MaxValue); break;
            case "ssl_ciphers": Set(d, context, ref Ciphers, ParseCiphers); break;
            case "ssl_handshake_timeout": Set(d, context, ref HandshakeTimeout, ParseTime); break;
            case "health_check_timeout": Set(d, context, ref HealthCheckTimeout, ParsePositiveTime); break;
            default: return false;
        }

        return true;
    }

    private static void Set<T>(ConfigDirective d, ParseContext context, ref Setting<T>? slot, ValueParser<T> parse, int maxArgs = 1)
    {
        if (!context.IsSimple(d, 1, maxArgs))
            return;
        if (slot is not null)
            context.Duplicate(d);
        else if (parse(d, context, out var value))
            slot = new Setting<T>(value, d.Location);
    }

    private static bool ParseTime(ConfigDirective d, ParseContext context, out TimeSpan value) =>
        TimeValue.TryParse(d.Args[0], out value) || context.InvalidValue(d, d.Args[0]);

    // A zero wait would fail every probe.
    private static bool ParsePositiveTime(ConfigDirective d, ParseContext context, out TimeSpan value) =>
        TimeValue.TryParse(d.Args[0], out value) && value > TimeSpan.Zero || context.InvalidValue(d, d.Args[0]);

    private static bool ParseFlag(ConfigDirective d, ParseContext context, out bool value)
    {
        value = d.Args[0] == "on";
        if (d.Args[0] is "on" or "off")
            return true;
        context.Error(d, $"invalid value \"{d.Args[0]}\" in \"{d.Name}\" directive, it must be \"on\" or \"off\"");
        return false;
    }

    private static bool ParseCount(ConfigDirective d, ParseContext context, out int value)
    {
        value = ParseContext.Number(d.Args[0], 0) ?? -1;
        return value >= 0 || context.InvalidValue(d, d.Args[0]);
    }

    // Relative to the folder of the file the directive is written in, as nginx resolves against its prefix.
    private static bool ParseFilePath(ConfigDirective d, ParseContext context, out string value)
    {
        value = "";
        try
        {
            value = Path.GetFullPath(d.Args[0], DirectiveReader.FolderOf(d.Location.File));
            return d.Args[0].Length > 0 || context.InvalidValue(d, d.Args[0]);
        }
        catch (ArgumentException)
        {
            return context.InvalidValue(d, d.Args[0]);
        }
    }

    private static bool ParseProtocols(ConfigDirective d, ParseContext context, out SslProtocols value)
    {
        value = SslProtocols.None;
        foreach (var name in d.Args)
        {
#pragma warning disable SYSLIB0039 // nginx still accepts TLSv1 and TLSv1.1; whether they work is the platform's call.
            SslProtocols? protocol = name switch
            {
                "TLSv1" => SslProtocols.Tls,
                "TLSv1.1" => SslProtocols.Tls11,
                "TLSv1.2" => SslProtocols.Tls12,
                "TLSv1.3" => SslProtocols.Tls13,
                _ => null,
            };
#pragma warning restore SYSLIB0039
            if (protocol is null)
                return context.InvalidValue(d, name);
            value |= protocol.Value;
        }

        return true;
    }

    private static bool ParseCiphers(ConfigDirective d, ParseContext context, out IReadOnlyList<TlsCipherSuite>? value)
    {
        if (string.IsNullOrWhiteSpace(d.Args[0]))
        {
            value = null;
            return context.InvalidValue(d, d.Args[0]);
        }

        if (CipherSuiteNames.TryParse(d.Args[0], out value, out var unknown))
            return true;
        context.Error(d, $"unknown cipher \"{unknown}\" in \"ssl_ciphers\" directive");
        return false;
    }
}
