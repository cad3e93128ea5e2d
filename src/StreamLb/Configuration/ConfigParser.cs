using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using StreamLb.Balancing;

namespace StreamLb.Configuration;

/// <summary>
/// Walks the directive tree one context at a time (top level, stream, upstream, server) and builds the
/// <see cref="StreamConfig"/>, collecting every error. Stream-level defaults are merged into the servers at the end,
/// as nginx merges them, so their order in the stream block does not matter.
/// </summary>
internal sealed class ConfigParser(List<ConfigError> errors)
{
    private delegate bool ValueParser<T>(ConfigDirective directive, out T value);

    private static readonly string[] HashVariables =
        ["remote_addr", "binary_remote_addr", "remote_port", "server_addr", "server_port"];

    // Directives known in some context: elsewhere they are "not allowed here" rather than "unknown".
    private static readonly HashSet<string> Known =
    [
        "stream", "upstream", "server", "listen", "proxy_pass", "least_conn", "random", "hash", "include",
        "proxy_connect_timeout", "proxy_timeout", "proxy_next_upstream", "proxy_next_upstream_tries",
        "proxy_next_upstream_timeout", "ssl_certificate", "ssl_certificate_key", "ssl_protocols", "ssl_ciphers",
        "ssl_handshake_timeout",
    ];

    private readonly List<UpstreamConfig> _upstreams = [];
    private readonly List<ServerDraft> _servers = [];
    private readonly HashSet<(string Host, int Port)> _listens = [];
    private readonly ProxySettings _streamSettings = new();

    public StreamConfig Parse(IReadOnlyList<ConfigDirective> directives, string sourceFile)
    {
        var seenStream = false;
        foreach (var d in directives)
        {
            if (d.Name != "stream")
                NotAllowedHere(d);
            else if (!IsBlock(d, 0, 0))
                continue;
            else if (seenStream)
                Error(d, "\"stream\" directive is duplicate");
            else
            {
                seenStream = true;
                ParseStream(d.Block!);
            }
        }

        var implicitUpstreams = new List<UpstreamConfig>();
        var servers = _servers.Select(s => BuildServer(s, implicitUpstreams)).ToList();
        return new StreamConfig { Upstreams = [.. _upstreams, .. implicitUpstreams], Servers = servers, SourceFile = sourceFile };
    }

    private void ParseStream(IReadOnlyList<ConfigDirective> block)
    {
        foreach (var d in block)
        {
            switch (d.Name)
            {
                case "upstream":
                    ParseUpstream(d);
                    break;
                case "server":
                    ParseServer(d);
                    break;
                default:
                    if (!ParseSetting(d, _streamSettings))
                        NotAllowedHere(d);
                    break;
            }
        }
    }

    private void ParseUpstream(ConfigDirective d)
    {
        if (!IsBlock(d, 1, 1))
            return;
        var name = d.Args[0];
        var duplicate = _upstreams.Any(u => u.Name == name);
        if (duplicate)
            Error(d, $"duplicate upstream \"{name}\"");

        var servers = new List<UpstreamServerConfig>();
        string? policy = null;
        string? hashKey = null;
        var consistent = false;
        foreach (var c in d.Block!)
        {
            switch (c.Name)
            {
                case "server":
                    if (IsSimple(c, 1, int.MaxValue) && ParseUpstreamServer(c) is { } server)
                        servers.Add(server);
                    break;
                case "least_conn":
                    if (IsSimple(c, 0, 0))
                        SetMethod(c, ref policy, LoadBalancingPolicies.LeastConn);
                    break;
                case "random":
                    if (IsSimple(c, 0, 2) && RandomMethod(c) is { } random)
                        SetMethod(c, ref policy, random);
                    break;
                case "hash":
                    if (IsSimple(c, 1, 2) && IsHashKey(c) && SetMethod(c, ref policy, LoadBalancingPolicies.Hash))
                        (hashKey, consistent) = (c.Args[0], c.Args.Count == 2);
                    break;
                default:
                    NotAllowedHere(c);
                    break;
            }
        }

        // A server line that was itself wrong has been reported already; only a block without any is reported here.
        if (!d.Block.Any(c => c.Name == "server"))
            Error(d, $"upstream \"{name}\" has no servers");
        if (policy is LoadBalancingPolicies.Hash or LoadBalancingPolicies.Random or LoadBalancingPolicies.RandomTwoLeastConn)
        {
            foreach (var backup in servers.Where(s => s.Backup))
                Error(backup.Location, "server", "balancing method does not support parameter \"backup\"");
        }

        if (!duplicate)
        {
            _upstreams.Add(new UpstreamConfig
            {
                Name = name,
                Servers = servers,
                Policy = policy ?? LoadBalancingPolicies.RoundRobin,
                HashKey = hashKey,
                HashConsistent = consistent,
                Location = d.Location,
            });
        }
    }

    private UpstreamServerConfig? ParseUpstreamServer(ConfigDirective d)
    {
        var address = d.Args[0];
        if (HostPort.ParseServer(address) is { } error)
        {
            Error(d, $"{error} in \"{address}\" of the \"server\" directive");
            return null;
        }

        var server = new UpstreamServerConfig { Address = address, Location = d.Location };
        foreach (var parameter in d.Args.Skip(1))
        {
            var (key, value) = parameter.IndexOf('=') is var eq and >= 0 ? (parameter[..eq], parameter[(eq + 1)..]) : (parameter, "");
            var next = key switch
            {
                "weight" when Number(value, 1) is { } weight => server with { Weight = weight },
                "max_conns" when Number(value, 0) is { } maxConns => server with { MaxConns = maxConns },
                "max_fails" when Number(value, 0) is { } maxFails => server with { MaxFails = maxFails },
                "fail_timeout" when TimeValue.TryParse(value, out var failTimeout) => server with { FailTimeout = failTimeout },
                "backup" when parameter == key => server with { Backup = true },
                "down" when parameter == key => server with { Down = true },
                _ => null,
            };
            if (next is null)
            {
                Error(d, $"invalid parameter \"{parameter}\" in \"server\" directive");
                return null;
            }

            server = next;
        }

        return server;
    }

    private string? RandomMethod(ConfigDirective d)
    {
        var invalid = d.Args.Count switch
        {
            0 => null,
            _ when d.Args[0] != "two" => d.Args[0],
            2 when d.Args[1] != "least_conn" => d.Args[1],
            _ => null,
        };
        if (invalid is not null)
        {
            Error(d, $"invalid parameter \"{invalid}\" in \"random\" directive");
            return null;
        }

        // "random two" picks by least connections too; that is nginx's default for two choices.
        return d.Args.Count == 0 ? LoadBalancingPolicies.Random : LoadBalancingPolicies.RandomTwoLeastConn;
    }

    private bool IsHashKey(ConfigDirective d)
    {
        var key = d.Args[0];
        for (var i = key.IndexOf('$'); i >= 0; i = key.IndexOf('$', i + 1))
        {
            var braced = i + 1 < key.Length && key[i + 1] == '{';
            var start = i + (braced ? 2 : 1);
            var end = start;
            while (end < key.Length && (char.IsAsciiLetterOrDigit(key[end]) || key[end] == '_'))
                end++;
            if (braced && (end == key.Length || key[end] != '}'))
            {
                Error(d, $"invalid value \"{key}\" in \"hash\" directive");
                return false;
            }

            if (!HashVariables.Contains(key[start..end]))
            {
                Error(d, $"unknown \"{key[start..end]}\" variable");
                return false;
            }
        }

        if (d.Args.Count == 2 && d.Args[1] != "consistent")
        {
            Error(d, $"invalid parameter \"{d.Args[1]}\" in \"hash\" directive");
            return false;
        }

        return true;
    }

    private bool SetMethod(ConfigDirective d, ref string? policy, string method)
    {
        if (policy is not null)
        {
            Error(d, "load balancing method redefined");
            return false;
        }

        policy = method;
        return true;
    }

    private void ParseServer(ConfigDirective d)
    {
        if (!IsBlock(d, 0, 0))
            return;
        var draft = new ServerDraft(d.Location);
        foreach (var c in d.Block!)
        {
            switch (c.Name)
            {
                case "listen":
                    draft.HasListen = true;
                    if (IsSimple(c, 1, int.MaxValue) && ParseListen(c) is { } listen)
                        draft.Listens.Add(listen);
                    break;
                case "proxy_pass":
                    Set(c, ref draft.ProxyPass, UpstreamName);
                    break;
                default:
                    if (!ParseSetting(c, draft.Settings))
                        NotAllowedHere(c);
                    break;
            }
        }

        _servers.Add(draft);
    }

    private ListenConfig? ParseListen(ConfigDirective d)
    {
        if (HostPort.ParseListen(d.Args[0], out var host, out var port) is { } error)
        {
            Error(d, $"{error} in \"{d.Args[0]}\" of the \"listen\" directive");
            return null;
        }

        if (d.Args.Skip(1).FirstOrDefault(p => p != "ssl") is { } parameter)
        {
            Error(d, $"invalid parameter \"{parameter}\" in \"listen\" directive");
            return null;
        }

        var listen = new ListenConfig { Host = host, Port = port, Ssl = d.Args.Count > 1, Location = d.Location };
        // Port 0 binds a fresh ephemeral port each time, so it never collides.
        if (port != 0 && !_listens.Add((host, port)))
        {
            Error(d, $"duplicate listen {listen} in \"listen\" directive");
            return null;
        }

        return listen;
    }

    /// <summary>The directives a server may inherit from the stream block; false when the name is not one of them.</summary>
    private bool ParseSetting(ConfigDirective d, ProxySettings s)
    {
        switch (d.Name)
        {
            case "proxy_connect_timeout": Set(d, ref s.ConnectTimeout, Time); break;
            case "proxy_timeout": Set(d, ref s.ProxyTimeout, Time); break;
            case "proxy_next_upstream": Set(d, ref s.NextUpstream, Flag); break;
            case "proxy_next_upstream_tries": Set(d, ref s.NextUpstreamTries, Count); break;
            case "proxy_next_upstream_timeout": Set(d, ref s.NextUpstreamTimeout, Time); break;
            case "ssl_certificate": Set(d, ref s.Certificate, FilePath); break;
            case "ssl_certificate_key": Set(d, ref s.CertificateKey, FilePath); break;
            case "ssl_protocols": Set(d, ref s.Protocols, Protocols, maxArgs: int.MaxValue); break;
            case "ssl_ciphers": Set(d, ref s.Ciphers, Ciphers); break;
            case "ssl_handshake_timeout": Set(d, ref s.HandshakeTimeout, Time); break;
            default: return false;
        }

        return true;
    }

    private void Set<T>(ConfigDirective d, ref Setting<T>? slot, ValueParser<T> parse, int maxArgs = 1)
    {
        if (!IsSimple(d, 1, maxArgs))
            return;
        if (slot is not null)
            Error(d, $"\"{d.Name}\" directive is duplicate");
        else if (parse(d, out var value))
            slot = new Setting<T>(value, d.Location);
    }

    // Checked once the whole stream block is read, since an upstream may be defined after its server.
    private static bool UpstreamName(ConfigDirective d, out string value)
    {
        value = d.Args[0];
        return true;
    }

    private bool Time(ConfigDirective d, out TimeSpan value) =>
        TimeValue.TryParse(d.Args[0], out value) || InvalidValue(d, d.Args[0]);

    private bool Flag(ConfigDirective d, out bool value)
    {
        value = d.Args[0] == "on";
        if (d.Args[0] is "on" or "off")
            return true;
        Error(d, $"invalid value \"{d.Args[0]}\" in \"{d.Name}\" directive, it must be \"on\" or \"off\"");
        return false;
    }

    private bool Count(ConfigDirective d, out int value)
    {
        value = Number(d.Args[0], 0) ?? -1;
        return value >= 0 || InvalidValue(d, d.Args[0]);
    }

    // Relative to the folder of the file the directive is written in, as nginx resolves against its prefix.
    private bool FilePath(ConfigDirective d, out string value)
    {
        value = "";
        try
        {
            value = Path.GetFullPath(d.Args[0], DirectiveReader.FolderOf(d.Location.File));
            return d.Args[0].Length > 0 || InvalidValue(d, d.Args[0]);
        }
        catch (ArgumentException)
        {
            return InvalidValue(d, d.Args[0]);
        }
    }

    private bool Protocols(ConfigDirective d, out SslProtocols value)
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
                return InvalidValue(d, name);
            value |= protocol.Value;
        }

        return true;
    }

    private bool Ciphers(ConfigDirective d, out IReadOnlyList<TlsCipherSuite>? value)
    {
        if (string.IsNullOrWhiteSpace(d.Args[0]))
        {
            value = null;
            return InvalidValue(d, d.Args[0]);
        }

        if (CipherSuiteNames.TryParse(d.Args[0], out value, out var unknown))
            return true;
        Error(d, $"unknown cipher \"{unknown}\" in \"ssl_ciphers\" directive");
        return false;
    }

    private ProxyServerConfig BuildServer(ServerDraft draft, List<UpstreamConfig> implicitUpstreams)
    {
        var s = draft.Settings.InheritFrom(_streamSettings);
        if (!draft.HasListen)
            Error(draft.Location, "server", "no \"listen\" is defined for server");
        if (draft.ProxyPass is null)
            Error(draft.Location, "server", "no \"proxy_pass\" is defined for server");
        else
            ResolveUpstream(draft.ProxyPass, implicitUpstreams);

        var sslListen = draft.Listens.FirstOrDefault(l => l.Ssl);
        var server = new ProxyServerConfig
        {
            Listens = draft.Listens,
            ProxyPass = draft.ProxyPass?.Value ?? "",
            Tls = sslListen is null ? null : BuildTls(sslListen, s),
            Location = draft.Location,
        };
        return server with
        {
            ProxyConnectTimeout = s.ConnectTimeout?.Value ?? server.ProxyConnectTimeout,
            ProxyTimeout = s.ProxyTimeout?.Value ?? server.ProxyTimeout,
            NextUpstream = s.NextUpstream?.Value ?? server.NextUpstream,
            NextUpstreamTries = s.NextUpstreamTries?.Value ?? server.NextUpstreamTries,
            NextUpstreamTimeout = s.NextUpstreamTimeout?.Value ?? server.NextUpstreamTimeout,
        };
    }

    // Like nginx, a proxy_pass to host:port that names no upstream makes an upstream of that one server.
    private void ResolveUpstream(Setting<string> proxyPass, List<UpstreamConfig> implicitUpstreams)
    {
        var name = proxyPass.Value;
        if (_upstreams.Any(u => u.Name == name) || implicitUpstreams.Any(u => u.Name == name))
            return;
        if (HostPort.ParseServer(name) is not null)
        {
            Error(proxyPass.Location, "proxy_pass", $"no upstream \"{name}\" for \"proxy_pass\" directive");
            return;
        }

        implicitUpstreams.Add(new UpstreamConfig
        {
            Name = name,
            Servers = [new UpstreamServerConfig { Address = name, Location = proxyPass.Location }],
            Location = proxyPass.Location,
        });
    }

    private TlsConfig? BuildTls(ListenConfig listen, ProxySettings s)
    {
        if (s.Certificate is null)
        {
            Error(listen.Location, "listen", "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive");
            return null;
        }

        if (s.CertificateKey is null)
        {
            Error(listen.Location, "listen", $"no \"ssl_certificate_key\" is defined for certificate \"{s.Certificate.Value}\"");
            return null;
        }

        var tls = new TlsConfig
        {
            CertificatePath = s.Certificate.Value,
            KeyPath = s.CertificateKey.Value,
            CertificateLocation = s.Certificate.Location,
            KeyLocation = s.CertificateKey.Location,
        };
        return tls with
        {
            Protocols = s.Protocols?.Value ?? tls.Protocols,
            CipherSuites = s.Ciphers is null ? tls.CipherSuites : s.Ciphers.Value,
            HandshakeTimeout = s.HandshakeTimeout?.Value ?? tls.HandshakeTimeout,
        };
    }

    private bool IsBlock(ConfigDirective d, int minArgs, int maxArgs)
    {
        if (d.Block is not null)
            return HasArgs(d, minArgs, maxArgs);
        Error(d, $"directive \"{d.Name}\" has no opening \"{{\"");
        return false;
    }

    private bool IsSimple(ConfigDirective d, int minArgs, int maxArgs)
    {
        if (d.Block is null)
            return HasArgs(d, minArgs, maxArgs);
        Error(d, $"directive \"{d.Name}\" is not terminated by \";\"");
        return false;
    }

    private bool HasArgs(ConfigDirective d, int min, int max)
    {
        if (d.Args.Count >= min && d.Args.Count <= max)
            return true;
        Error(d, $"invalid number of arguments in \"{d.Name}\" directive");
        return false;
    }

    private void NotAllowedHere(ConfigDirective d) =>
        Error(d, Known.Contains(d.Name) ? $"\"{d.Name}\" directive is not allowed here" : $"unknown directive \"{d.Name}\"");

    private bool InvalidValue(ConfigDirective d, string value)
    {
        Error(d, $"invalid value \"{value}\" in \"{d.Name}\" directive");
        return false;
    }

    private static int? Number(string text, int min) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min ? n : null;

    private void Error(ConfigDirective d, string message) => Error(d.Location, d.Name, message);

    private void Error(SourceLocation location, string directive, string message) =>
        errors.Add(new ConfigError(location, directive, message));

    private sealed class ServerDraft(SourceLocation location)
    {
        public SourceLocation Location { get; } = location;
        public List<ListenConfig> Listens { get; } = [];
        public bool HasListen { get; set; }
        public Setting<string>? ProxyPass;
        public ProxySettings Settings { get; } = new();
    }
}
