namespace StreamLb.Configuration;

/// <summary>
/// Walks the directive tree one context at a time (top level, stream, server; upstream blocks go to
/// <see cref="UpstreamParser"/>) and builds the <see cref="StreamConfig"/>, collecting every error. Stream-level
/// defaults are merged into the servers at the end, as nginx merges them, so their order does not matter.
/// </summary>
internal sealed class ConfigParser(List<ConfigError> errors)
{
    private readonly ParseContext _context = new(errors);
    private readonly List<UpstreamConfig> _upstreams = [];
    private readonly List<ServerDraft> _servers = [];
    private readonly HashSet<(string Host, int Port)> _listens = [];
    private readonly Dictionary<string, HealthCheckConfig> _healthChecks = [];
    private readonly ProxySettings _streamSettings = new();

    public StreamConfig Parse(IReadOnlyList<ConfigDirective> directives, string sourceFile)
    {
        var seenStream = false;
        foreach (var d in directives)
        {
            if (d.Name != "stream")
            {
                _context.NotAllowedHere(d);
            }
            else if (_context.IsBlock(d, 0, 0))
            {
                if (seenStream)
                    _context.Duplicate(d);
                else
                    ParseStream(d.Block!);
                seenStream = true;
            }
        }

        var implicitUpstreams = new List<UpstreamConfig>();
        var servers = _servers.Select(s => BuildServer(s, implicitUpstreams)).ToList();
        var upstreams = _upstreams.Concat(implicitUpstreams)
            .Select(u => _healthChecks.TryGetValue(u.Name, out var check) ? u with { HealthCheck = check } : u);
        return new StreamConfig { Upstreams = [.. upstreams], Servers = servers, SourceFile = sourceFile };
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
                    if (!_streamSettings.TryRead(d, _context))
                        _context.NotAllowedHere(d);
                    break;
            }
        }
    }

    private void ParseUpstream(ConfigDirective d)
    {
        if (!_context.IsBlock(d, 1, 1))
            return;
        var duplicate = _upstreams.Any(u => u.Name == d.Args[0]);
        if (duplicate)
            _context.Error(d, $"duplicate upstream \"{d.Args[0]}\"");
        // The body of a duplicate is still read, so its own errors are reported too.
        var upstream = UpstreamParser.Parse(d, _context);
        if (!duplicate)
            _upstreams.Add(upstream);
    }

    private void ParseServer(ConfigDirective d)
    {
        if (!_context.IsBlock(d, 0, 0))
            return;
        var draft = new ServerDraft(d.Location);
        foreach (var c in d.Block!)
        {
            switch (c.Name)
            {
                case "listen":
                    draft.HasListen = true;
                    if (_context.IsSimple(c, 1, int.MaxValue) && ParseListen(c) is { } listen)
                        draft.Listens.Add(listen);
                    break;
                case "proxy_pass":
                    // Resolved once the whole stream block is read, since an upstream may come after its server.
                    if (!_context.IsSimple(c, 1, 1))
                        break;
                    if (draft.ProxyPass is not null)
                        _context.Duplicate(c);
                    else
                        draft.ProxyPass = new Setting<string>(c.Args[0], c.Location);
                    break;
                case "health_check":
                    if (!_context.IsSimple(c, 0, int.MaxValue))
                        break;
                    if (draft.HealthCheck is not null)
                        _context.Duplicate(c);
                    else
                        draft.HealthCheck = ParseHealthCheck(c);
                    break;
                default:
                    if (!draft.Settings.TryRead(c, _context))
                        _context.NotAllowedHere(c);
                    break;
            }
        }

        _servers.Add(draft);
    }

    private ListenConfig? ParseListen(ConfigDirective d)
    {
        if (HostPort.ParseListen(d.Args[0], out var host, out var port) is { } error)
        {
            _context.Error(d, $"{error} in \"{d.Args[0]}\" of the \"listen\" directive");
            return null;
        }

        if (d.Args.Skip(1).FirstOrDefault(p => p != "ssl") is { } parameter)
        {
            _context.Error(d, $"invalid parameter \"{parameter}\" in \"listen\" directive");
            return null;
        }

        var listen = new ListenConfig { Host = host, Port = port, Ssl = d.Args.Count > 1, Location = d.Location };
        // Port 0 binds a fresh ephemeral port each time, so it never collides.
        if (port != 0 && !_listens.Add((host, port)))
        {
            _context.Error(d, $"duplicate listen {listen} in \"listen\" directive");
            return null;
        }

        return listen;
    }

    private ProxyServerConfig BuildServer(ServerDraft draft, List<UpstreamConfig> implicitUpstreams)
    {
        var s = draft.Settings.InheritFrom(_streamSettings);
        if (!draft.HasListen)
            _context.Error(draft.Location, "server", "no \"listen\" is defined for server");
        if (draft.ProxyPass is null)
            _context.Error(draft.Location, "server", "no \"proxy_pass\" is defined for server");
        else if (ResolveUpstream(draft.ProxyPass, implicitUpstreams) && draft.HealthCheck is { } check)
            AddHealthCheck(draft.ProxyPass.Value, check with { Timeout = s.HealthCheckTimeout?.Value ?? check.Timeout });

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
            HalfClose = s.HalfClose?.Value ?? server.HalfClose,
            NextUpstreamTries = s.NextUpstreamTries?.Value ?? server.NextUpstreamTries,
            NextUpstreamTimeout = s.NextUpstreamTimeout?.Value ?? server.NextUpstreamTimeout,
        };
    }

    private HealthCheckConfig? ParseHealthCheck(ConfigDirective d) =>
        _context.Parameters(d, 0, new HealthCheckConfig { Location = d.Location }, (check, _, key, value) => key switch
        {
            "interval" when TimeValue.TryParse(value, out var interval) && interval > TimeSpan.Zero => check with { Interval = interval },
            "fails" when ParseContext.Number(value, 1) is { } fails => check with { Fails = fails },
            "passes" when ParseContext.Number(value, 1) is { } passes => check with { Passes = passes },
            _ => null,
        });

    // One balancer probes an upstream for every server block that proxies to it, so they must agree on how.
    private void AddHealthCheck(string upstream, HealthCheckConfig check)
    {
        if (!_healthChecks.TryGetValue(upstream, out var first))
            _healthChecks[upstream] = check;
        else if (!first.SameSettings(check))
            _context.Error(check.Location, "health_check", $"conflicting \"health_check\" for upstream \"{upstream}\"");
    }

    // Like nginx, a proxy_pass to host:port that names no upstream makes an upstream of that one server.
    private bool ResolveUpstream(Setting<string> proxyPass, List<UpstreamConfig> implicitUpstreams)
    {
        var name = proxyPass.Value;
        if (_upstreams.Any(u => u.Name == name) || implicitUpstreams.Any(u => u.Name == name))
            return true;
        if (HostPort.ParseServer(name) is not null)
        {
            _context.Error(proxyPass.Location, "proxy_pass", $"no upstream \"{name}\" for \"proxy_pass\" directive");
            return false;
        }

        implicitUpstreams.Add(new UpstreamConfig
        {
            Name = name,
            Servers = [new UpstreamServerConfig { Address = name, Location = proxyPass.Location }],
            Location = proxyPass.Location,
        });
        return true;
    }

    private TlsConfig? BuildTls(ListenConfig listen, ProxySettings s)
    {
        if (s.Certificate is null)
        {
            _context.Error(listen.Location, "listen", "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive");
            return null;
        }

        if (s.CertificateKey is null)
        {
            _context.Error(listen.Location, "listen", $"no \"ssl_certificate_key\" is defined for certificate \"{s.Certificate.Value}\"");
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

    private sealed class ServerDraft(SourceLocation location)
    {
        public SourceLocation Location { get; } = location;

        public List<ListenConfig> Listens { get; } = [];

        /// <summary>Set by any listen line, even a wrong one, so a wrong one is not also reported as missing.</summary>
        public bool HasListen { get; set; }

        public Setting<string>? ProxyPass { get; set; }

        /// <summary>Without its timeout, which may come from the stream block; null when off or wrong.</summary>
        public HealthCheckConfig? HealthCheck { get; set; }

        public ProxySettings Settings { get; } = new();
    }
}
