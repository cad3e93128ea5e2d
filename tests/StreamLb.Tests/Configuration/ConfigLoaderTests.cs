using System.Net.Security;
using System.Security.Authentication;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;
using static StreamLb.Tests.Configuration.ParsedText;

namespace StreamLb.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string Seed = """
        stream {
            upstream backend {
                server 192.168.0.2:8080;
                server 192.168.0.3:8080;
            }
            server {
                listen 8443 ssl;
                ssl_certificate      /home/vagrant/server.crt;
                ssl_certificate_key  /home/vagrant/server.key;
                proxy_connect_timeout 10s;
                proxy_timeout 10s;
                proxy_pass backend;
            }
        }

        """;

    [Fact]
    public void Loads_the_seed_config_as_is()
    {
        using var folder = new TempFolder();
        var path = folder.Write("stream.conf", Seed);

        var result = ConfigLoader.Load(path);

        Assert.Empty(result.Errors);
        Assert.True(result.IsValid);
        var config = result.Config!;
        Assert.Equal(path, config.SourceFile);
        var upstream = Assert.Single(config.Upstreams);
        Assert.Equal(
            new UpstreamConfig
            {
                Name = "backend",
                Servers = upstream.Servers,
                Policy = LoadBalancingPolicies.RoundRobin,
                Location = new SourceLocation(path, 2),
            },
            upstream);
        Assert.Equal(
            [
                new UpstreamServerConfig { Address = "192.168.0.2:8080", Location = new SourceLocation(path, 3) },
                new UpstreamServerConfig { Address = "192.168.0.3:8080", Location = new SourceLocation(path, 4) },
            ],
            upstream.Servers);

        var server = Assert.Single(config.Servers);
        Assert.Equal(
            new ListenConfig { Host = "0.0.0.0", Port = 8443, Ssl = true, Location = new SourceLocation(path, 7) },
            Assert.Single(server.Listens));
        Assert.Equal("backend", server.ProxyPass);
        Assert.Equal(TimeSpan.FromSeconds(10), server.ProxyConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), server.ProxyTimeout);
        Assert.True(server.NextUpstream);
        Assert.Equal(0, server.NextUpstreamTries);
        Assert.Equal(TimeSpan.Zero, server.NextUpstreamTimeout);
        Assert.Equal(new SourceLocation(path, 6), server.Location);
        Assert.Equal(
            new TlsConfig
            {
                CertificatePath = "/home/vagrant/server.crt",
                KeyPath = "/home/vagrant/server.key",
                CertificateLocation = new SourceLocation(path, 8),
                KeyLocation = new SourceLocation(path, 9),
                Protocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                CipherSuites = null,
                HandshakeTimeout = TimeSpan.FromSeconds(60),
            },
            server.Tls);
    }

    [Fact]
    public void Certificate_paths_resolve_against_the_folder_of_the_file_they_are_written_in()
    {
        using var folder = new TempFolder();
        var path = folder.Write("stream.conf", """
            stream {
                ssl_certificate_key keys/server.key;
                include conf.d/tls.conf;
            }
            """);
        folder.Write("conf.d/tls.conf", """
            upstream backend { server 10.0.0.1:80; }
            server {
                listen 8443 ssl;
                ssl_certificate ../certs/server.crt;
                proxy_pass backend;
            }
            """);

        var tls = ConfigLoader.Load(path).Config!.Servers[0].Tls!;

        Assert.Equal(folder.PathOf("certs/server.crt"), tls.CertificatePath);
        Assert.Equal(new SourceLocation(folder.PathOf("conf.d/tls.conf"), 4), tls.CertificateLocation);
        Assert.Equal(folder.PathOf("keys/server.key"), tls.KeyPath);
        Assert.Equal(new SourceLocation(path, 2), tls.KeyLocation);
    }

    [Fact]
    public void Parse_resolves_relative_paths_against_the_folder_of_the_file_name()
    {
        var result = ConfigLoader.Parse(Server("listen 443 ssl; ssl_certificate a.crt; ssl_certificate_key a.key;"), "/etc/streamlb/lb.conf");

        Assert.Equal("/etc/streamlb/a.crt", result.Config!.Servers[0].Tls!.CertificatePath);
        Assert.Equal("/etc/streamlb/lb.conf", result.Config.SourceFile);
    }

    [Fact]
    public void Reads_every_upstream_server_parameter()
    {
        var config = Valid("""
            stream {
                upstream b {
                    server app.example.com:8080 weight=3 max_conns=100 max_fails=5 fail_timeout=1m30s;
                    server [::1]:9000 backup;
                    server 10.0.0.3:80 down max_fails=0;
                }
                server { listen 80; proxy_pass b; }
            }
            """);

        Assert.Equal(
            [
                new UpstreamServerConfig
                {
                    Address = "app.example.com:8080", Weight = 3, MaxConns = 100, MaxFails = 5,
                    FailTimeout = TimeSpan.FromSeconds(90), Location = new SourceLocation("test.conf", 3),
                },
                new UpstreamServerConfig { Address = "[::1]:9000", Backup = true, Location = new SourceLocation("test.conf", 4) },
                new UpstreamServerConfig { Address = "10.0.0.3:80", Down = true, MaxFails = 0, Location = new SourceLocation("test.conf", 5) },
            ],
            config.Upstreams[0].Servers);
    }

    [Theory]
    [InlineData("", LoadBalancingPolicies.RoundRobin, null, false)]
    [InlineData("least_conn;", LoadBalancingPolicies.LeastConn, null, false)]
    [InlineData("random;", LoadBalancingPolicies.Random, null, false)]
    [InlineData("random two;", LoadBalancingPolicies.RandomTwoLeastConn, null, false)]
    [InlineData("random two least_conn;", LoadBalancingPolicies.RandomTwoLeastConn, null, false)]
    [InlineData("hash $remote_addr;", LoadBalancingPolicies.Hash, "$remote_addr", false)]
    [InlineData("hash $binary_remote_addr consistent;", LoadBalancingPolicies.Hash, "$binary_remote_addr", true)]
    [InlineData("hash \"$remote_addr:$remote_port\";", LoadBalancingPolicies.Hash, "$remote_addr:$remote_port", false)]
    [InlineData("hash ${server_addr}-$server_port consistent;", LoadBalancingPolicies.Hash, "${server_addr}-$server_port", true)]
    [InlineData("hash fixed;", LoadBalancingPolicies.Hash, "fixed", false)]
    public void Reads_the_load_balancing_method(string method, string policy, string? hashKey, bool consistent)
    {
        var upstream = Valid($$"""
            stream {
                upstream b { {{method}} server 10.0.0.1:80; }
                server { listen 80; proxy_pass b; }
            }
            """).Upstreams[0];

        Assert.Equal(policy, upstream.Policy);
        Assert.Equal(hashKey, upstream.HashKey);
        Assert.Equal(consistent, upstream.HashConsistent);
    }

    [Theory]
    [InlineData("8443", "0.0.0.0", 8443, false)]
    [InlineData("8443 ssl", "0.0.0.0", 8443, true)]
    [InlineData("*:80", "0.0.0.0", 80, false)]
    [InlineData("127.0.0.1:8443 ssl", "127.0.0.1", 8443, true)]
    [InlineData("[::1]:8443", "::1", 8443, false)]
    [InlineData("[::]:443 ssl", "::", 443, true)]
    [InlineData("0", "0.0.0.0", 0, false)]
    [InlineData("65535", "0.0.0.0", 65535, false)]
    public void Reads_listen(string listen, string host, int port, bool ssl)
    {
        var server = Valid(Server($"listen {listen}; ssl_certificate /c.crt; ssl_certificate_key /c.key;")).Servers[0];

        Assert.Equal(
            new ListenConfig { Host = host, Port = port, Ssl = ssl, Location = new SourceLocation("test.conf", 3) },
            Assert.Single(server.Listens));
        Assert.Equal(ssl, server.Tls is not null);
    }

    [Fact]
    public void Several_listens_and_ephemeral_ports_are_not_duplicates()
    {
        var config = Valid("""
            stream {
                upstream b { server 10.0.0.1:80; }
                server { listen 0; listen 0; listen 80; listen 127.0.0.1:80; listen [::1]:80; proxy_pass b; }
                server { listen 0; proxy_pass b; }
            }
            """);

        Assert.Equal(
            ["0.0.0.0:0", "0.0.0.0:0", "0.0.0.0:80", "127.0.0.1:80", "[::1]:80"],
            config.Servers[0].Listens.Select(l => l.ToString()));
    }

    [Fact]
    public void Reads_the_proxy_directives()
    {
        var server = Valid(Server("""
            listen 80;
            proxy_connect_timeout 500ms;
            proxy_timeout "1h 30m";
            proxy_next_upstream off;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 1m;
            proxy_half_close off;
            """)).Servers[0];

        Assert.False(server.HalfClose);

        Assert.Equal(TimeSpan.FromMilliseconds(500), server.ProxyConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(90), server.ProxyTimeout);
        Assert.False(server.NextUpstream);
        Assert.Equal(3, server.NextUpstreamTries);
        Assert.Equal(TimeSpan.FromMinutes(1), server.NextUpstreamTimeout);
    }

    [Fact]
    public void Unset_directives_keep_the_defaults_of_the_records()
    {
        var server = Valid(Server("listen 443 ssl; ssl_certificate /c.crt; ssl_certificate_key /c.key;")).Servers[0];
        var defaults = new ProxyServerConfig { Listens = [], ProxyPass = "" };
        var tlsDefaults = new TlsConfig { CertificatePath = "", KeyPath = "" };

        Assert.Equal(defaults.ProxyConnectTimeout, server.ProxyConnectTimeout);
        Assert.Equal(defaults.ProxyTimeout, server.ProxyTimeout);
        Assert.Equal(defaults.NextUpstream, server.NextUpstream);
        Assert.True(server.HalfClose);
        Assert.Equal(defaults.NextUpstreamTries, server.NextUpstreamTries);
        Assert.Equal(defaults.NextUpstreamTimeout, server.NextUpstreamTimeout);
        Assert.Equal(tlsDefaults.Protocols, server.Tls!.Protocols);
        Assert.Null(server.Tls.CipherSuites);
        Assert.Equal(tlsDefaults.HandshakeTimeout, server.Tls.HandshakeTimeout);
    }

    [Theory]
    [InlineData("TLSv1.2", SslProtocols.Tls12)]
    [InlineData("TLSv1.3", SslProtocols.Tls13)]
    [InlineData("TLSv1.2 TLSv1.3", SslProtocols.Tls12 | SslProtocols.Tls13)]
    public void Reads_ssl_protocols(string protocols, SslProtocols expected)
    {
        Assert.Equal(expected, Tls($"ssl_protocols {protocols};").Protocols);
    }

    [Fact]
    public void Reads_the_old_ssl_protocols()
    {
#pragma warning disable SYSLIB0039 // The config still names them, so the test does too.
        Assert.Equal(SslProtocols.Tls | SslProtocols.Tls11, Tls("ssl_protocols TLSv1 TLSv1.1;").Protocols);
#pragma warning restore SYSLIB0039
    }

    [Theory]
    [InlineData("HIGH:!aNULL:!MD5")]
    [InlineData("DEFAULT")]
    [InlineData("ALL:-RC4:+3DES:@STRENGTH")]
    [InlineData("EECDH+AESGCM:EDH+AESGCM")]
    [InlineData("ECDHE-RSA-AES128-GCM-SHA256:HIGH")]
    [InlineData("!aNULL:!eNULL")]
    public void Ssl_ciphers_selected_by_keyword_keep_the_system_default(string ciphers)
    {
        Assert.Null(Tls($"ssl_ciphers {ciphers};").CipherSuites);
    }

    [Fact]
    public void Reads_named_ssl_ciphers_by_openssl_and_iana_name()
    {
        var tls = Tls("ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES256-GCM-SHA384:"
            + "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:!aNULL;");

        Assert.Equal(
            [
                TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
                TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                TlsCipherSuite.TLS_AES_128_GCM_SHA256,
                TlsCipherSuite.TLS_AES_256_GCM_SHA384,
                TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            ],
            tls.CipherSuites);
    }

    [Fact]
    public void Reads_ssl_handshake_timeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), Tls("ssl_handshake_timeout 5s;").HandshakeTimeout);
    }

    [Fact]
    public void Servers_inherit_stream_level_directives_they_do_not_set()
    {
        var config = Valid("""
            stream {
                proxy_connect_timeout 3s;
                proxy_timeout 1m;
                proxy_next_upstream off;
                proxy_next_upstream_tries 2;
                proxy_next_upstream_timeout 20s;
                ssl_certificate /etc/ssl/shared.crt;
                ssl_certificate_key /etc/ssl/shared.key;
                ssl_protocols TLSv1.3;
                ssl_ciphers TLS_AES_256_GCM_SHA384;
                upstream b { server 10.0.0.1:80; }
                server { listen 443 ssl; proxy_pass b; }
                server {
                    listen 444 ssl;
                    proxy_pass b;
                    proxy_timeout 2m;
                    proxy_next_upstream on;
                    ssl_certificate /etc/ssl/own.crt;
                    ssl_protocols TLSv1.2;
                }
                ssl_handshake_timeout 7s;
            }
            """);
        var inheriting = config.Servers[0];
        var overriding = config.Servers[1];

        Assert.Equal(TimeSpan.FromSeconds(3), inheriting.ProxyConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), inheriting.ProxyTimeout);
        Assert.False(inheriting.NextUpstream);
        Assert.Equal(2, inheriting.NextUpstreamTries);
        Assert.Equal(TimeSpan.FromSeconds(20), inheriting.NextUpstreamTimeout);
        Assert.Equal(
            new TlsConfig
            {
                CertificatePath = "/etc/ssl/shared.crt",
                KeyPath = "/etc/ssl/shared.key",
                CertificateLocation = new SourceLocation("test.conf", 7),
                KeyLocation = new SourceLocation("test.conf", 8),
                Protocols = SslProtocols.Tls13,
                CipherSuites = inheriting.Tls!.CipherSuites,
                HandshakeTimeout = TimeSpan.FromSeconds(7),
            },
            inheriting.Tls);
        Assert.Equal([TlsCipherSuite.TLS_AES_256_GCM_SHA384], inheriting.Tls.CipherSuites);

        Assert.Equal(TimeSpan.FromSeconds(3), overriding.ProxyConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), overriding.ProxyTimeout);
        Assert.True(overriding.NextUpstream);
        Assert.Equal("/etc/ssl/own.crt", overriding.Tls!.CertificatePath);
        Assert.Equal(new SourceLocation("test.conf", 18), overriding.Tls.CertificateLocation);
        Assert.Equal("/etc/ssl/shared.key", overriding.Tls.KeyPath);
        Assert.Equal(SslProtocols.Tls12, overriding.Tls.Protocols);
        Assert.Equal(TimeSpan.FromSeconds(7), overriding.Tls.HandshakeTimeout);
    }

    [Fact]
    public void Proxy_pass_to_an_address_makes_an_implicit_upstream()
    {
        var config = Valid("""
            stream {
                server { listen 80; proxy_pass 10.0.0.5:9000; }
                server { listen 81; proxy_pass 10.0.0.5:9000; }
                server { listen 82; proxy_pass [::1]:9000; }
            }
            """);

        Assert.Equal(
            [
                new UpstreamConfig
                {
                    Name = "10.0.0.5:9000",
                    Servers = config.Upstreams[0].Servers,
                    Location = new SourceLocation("test.conf", 2),
                },
                new UpstreamConfig
                {
                    Name = "[::1]:9000",
                    Servers = config.Upstreams[1].Servers,
                    Location = new SourceLocation("test.conf", 4),
                },
            ],
            config.Upstreams);
        Assert.Equal(
            new UpstreamServerConfig { Address = "10.0.0.5:9000", Location = new SourceLocation("test.conf", 2) },
            Assert.Single(config.Upstreams[0].Servers));
        Assert.Equal("10.0.0.5:9000", config.FindUpstream(config.Servers[1].ProxyPass)!.Servers[0].Address);
    }

    [Fact]
    public void Proxy_pass_prefers_an_upstream_of_that_name_even_when_defined_later()
    {
        var config = Valid("""
            stream {
                server { listen 80; proxy_pass 10.0.0.5:9000; }
                upstream 10.0.0.5:9000 { server 10.0.0.6:9000; }
            }
            """);

        Assert.Equal("10.0.0.6:9000", Assert.Single(Assert.Single(config.Upstreams).Servers).Address);
    }

    [Fact]
    public void Includes_files_at_every_level_relative_to_the_including_file()
    {
        using var folder = new TempFolder();
        var path = folder.Write("main.conf", "include stream/*.conf;\n");
        folder.Write("stream/stream.conf", """
            stream {
                upstream backend { include ../servers/backend.list; }
                include ../servers.d/*.conf;
                include ../none/*.missing;
            }
            """);
        folder.Write("servers/backend.list", "server 10.0.0.1:80;\nserver 10.0.0.2:80;\n");
        folder.Write("servers.d/b.conf", "server { listen 82; proxy_pass backend; }\n");
        folder.Write("servers.d/a.conf", "server { listen 81; proxy_pass backend; }\n");
        folder.Write("servers.d/skip.txt", "garbage\n");
        Directory.CreateDirectory(folder.PathOf("none"));

        var result = ConfigLoader.Load(path);

        Assert.Empty(result.Errors);
        var config = result.Config!;
        Assert.Equal(["10.0.0.1:80", "10.0.0.2:80"], config.Upstreams[0].Servers.Select(s => s.Address));
        Assert.Equal(new SourceLocation(folder.PathOf("servers/backend.list"), 2), config.Upstreams[0].Servers[1].Location);
        Assert.Equal([81, 82], config.Servers.Select(s => s.Listens[0].Port));
        Assert.Equal(new SourceLocation(folder.PathOf("servers.d/a.conf"), 1), config.Servers[0].Location);
    }

    [Fact]
    public void Reads_comments_quotes_and_escapes()
    {
        var config = Valid("""
            # the whole config
            stream { # the stream block
                upstream 'my backend' {
                    server "10.0.0.1:80"; # first
                }
                server {
                    listen 80;
                    proxy_pass "my backend";
                }
            }
            """);

        Assert.Equal("my backend", config.Upstreams[0].Name);
        Assert.Equal("my backend", config.Servers[0].ProxyPass);
    }

    [Fact]
    public void An_empty_file_is_an_empty_config()
    {
        var config = Valid("# nothing here\n");

        Assert.Empty(config.Upstreams);
        Assert.Empty(config.Servers);
    }

    // Lines: 1 stream, 2 upstream, 3 the body, 4 proxy_pass.
    private static string Server(string body) => $$"""
        stream {
            upstream b { server 10.0.0.1:80; } server {
        {{body}}
            proxy_pass b; }
        }
        """;

    private static TlsConfig Tls(string directive) =>
        Valid(Server($"listen 443 ssl; ssl_certificate /c.crt; ssl_certificate_key /c.key; {directive}")).Servers[0].Tls!;
}
