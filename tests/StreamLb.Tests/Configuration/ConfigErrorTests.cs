using StreamLb.Configuration;
using Xunit;
using static StreamLb.Tests.Configuration.ParsedText;

namespace StreamLb.Tests.Configuration;

public sealed class ConfigErrorTests
{
    [Fact]
    public void Reports_every_error_of_a_file_in_order()
    {
        var errors = Errors("""
            stream {
                upstream backend {
                    server 192.168.0.2:8080 weight=0;
                    server 192.168.0.3;
                    least_conn;
                    random;
                }
                upstream backend {
                    server 10.0.0.1:80;
                }
                upstream empty {
                }
                server {
                    listen 8443 ssl;
                    listen 127.0.0.1:8443;
                    listen 127.0.0.1:8443;
                    proxy_timeout abc;
                    proxy_timeout 10s;
                    proxy_timeout 20s;
                    proxy_pass backend;
                    proxy_pass other;
                    foo bar;
                    server 1.2.3.4:80;
                }
                server {
                    listen 9000;
                    proxy_pass missing;
                }
                server {
                    listen 9001;
                }
                server {
                    listen 9000;
                    proxy_pass backend;
                }
            }
            """);

        Assert.Equal(
            [
                "test.conf:3: invalid parameter \"weight=0\" in \"server\" directive",
                "test.conf:4: no port in \"192.168.0.3\" of the \"server\" directive",
                "test.conf:6: load balancing method redefined",
                "test.conf:8: duplicate upstream \"backend\"",
                "test.conf:11: upstream \"empty\" has no servers",
                "test.conf:16: duplicate listen 127.0.0.1:8443 in \"listen\" directive",
                "test.conf:17: invalid value \"abc\" in \"proxy_timeout\" directive",
                "test.conf:19: \"proxy_timeout\" directive is duplicate",
                "test.conf:21: \"proxy_pass\" directive is duplicate",
                "test.conf:22: unknown directive \"foo\"",
                "test.conf:23: \"server\" directive is not allowed here",
                "test.conf:33: duplicate listen 0.0.0.0:9000 in \"listen\" directive",
                "test.conf:14: no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive",
                "test.conf:27: no upstream \"missing\" for \"proxy_pass\" directive",
                "test.conf:29: no \"proxy_pass\" is defined for server",
            ],
            errors);
    }

    [Fact]
    public void Errors_name_the_directive_they_are_about()
    {
        var result = ConfigLoader.Parse("stream {\n    proxy_timeout abc;\n}\n", "test.conf");

        Assert.Null(result.Config);
        Assert.False(result.IsValid);
        Assert.Equal(
            new ConfigError(new SourceLocation("test.conf", 2), "proxy_timeout", "invalid value \"abc\" in \"proxy_timeout\" directive"),
            Assert.Single(result.Errors));
    }

    [Theory]
    [InlineData("events { }", "test.conf:1: unknown directive \"events\"")]
    [InlineData("upstream b { server 10.0.0.1:80; }", "test.conf:1: \"upstream\" directive is not allowed here")]
    [InlineData("stream;", "test.conf:1: directive \"stream\" has no opening \"{\"")]
    [InlineData("stream x { }", "test.conf:1: invalid number of arguments in \"stream\" directive")]
    [InlineData("stream { }\nstream { }", "test.conf:2: \"stream\" directive is duplicate")]
    [InlineData("stream {\n    upstream;\n}", "test.conf:2: directive \"upstream\" has no opening \"{\"")]
    [InlineData("stream {\n    upstream { server 10.0.0.1:80; }\n}", "test.conf:2: invalid number of arguments in \"upstream\" directive")]
    [InlineData("stream {\n    server;\n}", "test.conf:2: directive \"server\" has no opening \"{\"")]
    [InlineData("stream {\n    server x { }\n}", "test.conf:2: invalid number of arguments in \"server\" directive")]
    [InlineData("stream {\n    listen 80;\n}", "test.conf:2: \"listen\" directive is not allowed here")]
    [InlineData("stream {\n    proxy_timeout 1s { }\n}", "test.conf:2: directive \"proxy_timeout\" is not terminated by \";\"")]
    [InlineData("stream {\n    proxy_timeout;\n}", "test.conf:2: invalid number of arguments in \"proxy_timeout\" directive")]
    [InlineData("stream {\n    proxy_timeout 1s 2s;\n}", "test.conf:2: invalid number of arguments in \"proxy_timeout\" directive")]
    [InlineData("stream {\n    server { listen 80; }\n}", "test.conf:2: no \"proxy_pass\" is defined for server")]
    [InlineData("stream {\n    server { proxy_pass 10.0.0.1:80; }\n}", "test.conf:2: no \"listen\" is defined for server")]
    [InlineData("include a b;", "test.conf:1: invalid number of arguments in \"include\" directive")]
    [InlineData("include a { }", "test.conf:1: directive \"include\" is not terminated by \";\"")]
    public void Reports_misplaced_and_malformed_directives(string text, string error)
    {
        Assert.Equal([error], Errors(text));
    }

    [Theory]
    [InlineData("stream {\n    server {\n        listen 80;\n        proxy_pass 10.0.0.1:80;\n", "test.conf:5: unexpected end of file, expecting \"}\"")]
    [InlineData("stream {\n    proxy_timeout 10s", "test.conf:2: unexpected end of file, expecting \";\" or \"}\"")]
    [InlineData("stream {\n    proxy_timeout \"10s;\n}\n", "test.conf:4: unexpected end of file, expecting \";\" or \"}\"")]
    [InlineData("stream {\n    proxy_timeout 10s\n}\n", "test.conf:3: unexpected \"}\"")]
    [InlineData("}\nstream { }\n", "test.conf:1: unexpected \"}\"")]
    [InlineData("stream {\n    ;\n}\n", "test.conf:2: unexpected \";\"")]
    [InlineData("stream {\n    { }\n}\n", "test.conf:2: unexpected \"{\"")]
    public void Reports_syntax_errors(string text, string error)
    {
        Assert.Equal([error], Errors(text));
    }

    [Fact]
    public void Goes_on_after_a_syntax_error()
    {
        var errors = Errors("""
            }
            foo;
            stream {
                proxy_timeout 10s }
                upstream b {
                    server 10.0.0.1:80 bogus;
                }
                server {
                    listen 80;
                    proxy_pass b;
            """);

        Assert.Equal(
            [
                "test.conf:1: unexpected \"}\"",
                "test.conf:4: unexpected \"}\"",
                "test.conf:10: unexpected end of file, expecting \"}\"",
                "test.conf:2: unknown directive \"foo\"",
                "test.conf:5: \"upstream\" directive is not allowed here",
                "test.conf:8: \"server\" directive is not allowed here",
            ],
            errors);
    }

    // Lines: 1 stream, 2 upstream, 3 server, 4 the directive.
    [Theory]
    [InlineData("server 10.0.0.1:0;", "invalid port in \"10.0.0.1:0\" of the \"server\" directive")]
    [InlineData("server 10.0.0.1:65536;", "invalid port in \"10.0.0.1:65536\" of the \"server\" directive")]
    [InlineData("server 10.0.0.1:http;", "invalid port in \"10.0.0.1:http\" of the \"server\" directive")]
    [InlineData("server 10.0.0.1;", "no port in \"10.0.0.1\" of the \"server\" directive")]
    [InlineData("server ::1:80;", "invalid host in \"::1:80\" of the \"server\" directive")]
    [InlineData("server [::1];", "no port in \"[::1]\" of the \"server\" directive")]
    [InlineData("server [nonsense]:80;", "invalid host in \"[nonsense]:80\" of the \"server\" directive")]
    [InlineData("server 300.0.0.1:80;", "invalid host in \"300.0.0.1:80\" of the \"server\" directive")]
    [InlineData("server bad_host!:80;", "invalid host in \"bad_host!:80\" of the \"server\" directive")]
    [InlineData("server;", "invalid number of arguments in \"server\" directive")]
    [InlineData("server 10.0.0.1:80 weight=abc;", "invalid parameter \"weight=abc\" in \"server\" directive")]
    [InlineData("server 10.0.0.1:80 max_conns=-1;", "invalid parameter \"max_conns=-1\" in \"server\" directive")]
    [InlineData("server 10.0.0.1:80 max_fails=x;", "invalid parameter \"max_fails=x\" in \"server\" directive")]
    [InlineData("server 10.0.0.1:80 fail_timeout=1q;", "invalid parameter \"fail_timeout=1q\" in \"server\" directive")]
    [InlineData("server 10.0.0.1:80 backup=1;", "invalid parameter \"backup=1\" in \"server\" directive")]
    [InlineData("server 10.0.0.1:80 slow_start=10s;", "invalid parameter \"slow_start=10s\" in \"server\" directive")]
    [InlineData("least_conn now;", "invalid number of arguments in \"least_conn\" directive")]
    [InlineData("random three;", "invalid parameter \"three\" in \"random\" directive")]
    [InlineData("random two most_conn;", "invalid parameter \"most_conn\" in \"random\" directive")]
    [InlineData("random two least_conn x;", "invalid number of arguments in \"random\" directive")]
    [InlineData("hash;", "invalid number of arguments in \"hash\" directive")]
    [InlineData("hash $foo;", "unknown \"foo\" variable")]
    [InlineData("hash $remote_addr$request_uri;", "unknown \"request_uri\" variable")]
    [InlineData("hash ${remote_addr;", "invalid value \"${remote_addr\" in \"hash\" directive")]
    [InlineData("hash $remote_addr ring;", "invalid parameter \"ring\" in \"hash\" directive")]
    [InlineData("listen 80;", "\"listen\" directive is not allowed here")]
    [InlineData("upstream c { server 10.0.0.1:80; }", "\"upstream\" directive is not allowed here")]
    [InlineData("proxy_timeout 1s;", "\"proxy_timeout\" directive is not allowed here")]
    [InlineData("sticky cookie;", "unknown directive \"sticky\"")]
    public void Reports_bad_upstream_directives(string directive, string error)
    {
        var errors = Errors($$"""
            stream {
                upstream b {
                    server 10.0.0.9:80;
                    {{directive}}
                }
                server { listen 80; proxy_pass b; }
            }
            """);

        Assert.Equal(["test.conf:4: " + error], errors);
    }

    [Theory]
    [InlineData("hash $remote_addr;")]
    [InlineData("random;")]
    [InlineData("random two least_conn;")]
    public void Backup_servers_need_a_method_that_supports_them(string method)
    {
        var errors = Errors($$"""
            stream {
                upstream b {
                    {{method}}
                    server 10.0.0.1:80;
                    server 10.0.0.2:80 backup;
                }
                server { listen 80; proxy_pass b; }
            }
            """);

        Assert.Equal(["test.conf:5: balancing method does not support parameter \"backup\""], errors);
    }

    // Lines: 1 stream, 2 upstream, 3 server, 4 listen, 5 proxy_pass, 6 the directive.
    [Theory]
    [InlineData("listen 70000;", "invalid port in \"70000\" of the \"listen\" directive")]
    [InlineData("listen 127.0.0.1:-1;", "invalid port in \"127.0.0.1:-1\" of the \"listen\" directive")]
    [InlineData("listen localhost:81;", "invalid host in \"localhost:81\" of the \"listen\" directive")]
    [InlineData("listen 127.0.0.1;", "no port in \"127.0.0.1\" of the \"listen\" directive")]
    [InlineData("listen ::1:81;", "invalid host in \"::1:81\" of the \"listen\" directive")]
    [InlineData("listen 81 http2;", "invalid parameter \"http2\" in \"listen\" directive")]
    [InlineData("listen;", "invalid number of arguments in \"listen\" directive")]
    [InlineData("listen 80;", "duplicate listen 0.0.0.0:80 in \"listen\" directive")]
    [InlineData("listen *:80;", "duplicate listen 0.0.0.0:80 in \"listen\" directive")]
    [InlineData("proxy_pass b;", "\"proxy_pass\" directive is duplicate")]
    [InlineData("proxy_pass a b;", "invalid number of arguments in \"proxy_pass\" directive")]
    [InlineData("proxy_connect_timeout 10x;", "invalid value \"10x\" in \"proxy_connect_timeout\" directive")]
    [InlineData("proxy_timeout -5s;", "invalid value \"-5s\" in \"proxy_timeout\" directive")]
    [InlineData("proxy_next_upstream maybe;", "invalid value \"maybe\" in \"proxy_next_upstream\" directive, it must be \"on\" or \"off\"")]
    [InlineData("proxy_next_upstream_tries -1;", "invalid value \"-1\" in \"proxy_next_upstream_tries\" directive")]
    [InlineData("proxy_next_upstream_tries many;", "invalid value \"many\" in \"proxy_next_upstream_tries\" directive")]
    [InlineData("proxy_next_upstream_timeout 1q;", "invalid value \"1q\" in \"proxy_next_upstream_timeout\" directive")]
    [InlineData("ssl_handshake_timeout abc;", "invalid value \"abc\" in \"ssl_handshake_timeout\" directive")]
    [InlineData("ssl_protocols TLSv1.2 SSLv3;", "invalid value \"SSLv3\" in \"ssl_protocols\" directive")]
    [InlineData("ssl_protocols;", "invalid number of arguments in \"ssl_protocols\" directive")]
    [InlineData("ssl_ciphers HIGH:FOO-BAR;", "unknown cipher \"FOO-BAR\" in \"ssl_ciphers\" directive")]
    [InlineData("ssl_ciphers \"\";", "invalid value \"\" in \"ssl_ciphers\" directive")]
    [InlineData("ssl_certificate \"\";", "invalid value \"\" in \"ssl_certificate\" directive")]
    [InlineData("ssl_certificate_key a b;", "invalid number of arguments in \"ssl_certificate_key\" directive")]
    [InlineData("least_conn;", "\"least_conn\" directive is not allowed here")]
    [InlineData("stream { }", "\"stream\" directive is not allowed here")]
    [InlineData("proxy_buffer_size 16k;", "unknown directive \"proxy_buffer_size\"")]
    public void Reports_bad_server_directives(string directive, string error)
    {
        var errors = Errors($$"""
            stream {
                upstream b { server 10.0.0.1:80; }
                server {
                    listen 80;
                    proxy_pass b;
                    {{directive}}
                }
            }
            """);

        Assert.Equal(["test.conf:6: " + error], errors);
    }

    [Fact]
    public void An_ssl_listen_needs_a_certificate_and_a_key()
    {
        var errors = Errors("""
            stream {
                upstream b { server 10.0.0.1:80; }
                server {
                    listen 80;
                    listen 443 ssl;
                    proxy_pass b;
                }
                server {
                    listen 444 ssl;
                    ssl_certificate /etc/ssl/a.crt;
                    proxy_pass b;
                }
            }
            """);

        Assert.Equal(
            [
                "test.conf:5: no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive",
                "test.conf:9: no \"ssl_certificate_key\" is defined for certificate \"/etc/ssl/a.crt\"",
            ],
            errors);
    }

    [Fact]
    public void Errors_in_an_included_file_name_that_file_and_its_line()
    {
        using var folder = new TempFolder();
        var main = folder.Write("main.conf", """
            stream {
                include upstreams.conf;
                include missing.conf;
                include broken.conf;
                server {
                    listen 80;
                    proxy_pass backend;
                }
            }
            """);
        var upstreams = folder.Write("upstreams.conf", """
            upstream backend {
                server 10.0.0.1:80;
                server 10.0.0.2;
            }
            bogus;
            """);
        var broken = folder.Write("broken.conf", "upstream other {\n    server 10.0.0.3:80;\n");

        var errors = ConfigLoader.Load(main).Errors.Select(e => e.ToString());

        Assert.Equal(
            [
                $"{main}:3: open() \"{folder.PathOf("missing.conf")}\" failed (No such file or directory)",
                $"{broken}:3: unexpected end of file, expecting \"}}\"",
                $"{upstreams}:3: no port in \"10.0.0.2\" of the \"server\" directive",
                $"{upstreams}:5: unknown directive \"bogus\"",
            ],
            errors);
    }

    [Fact]
    public void A_glob_in_a_missing_folder_is_an_error()
    {
        using var folder = new TempFolder();
        var main = folder.Write("main.conf", "stream {\n    include conf.d/*.conf;\n}\n");

        var errors = ConfigLoader.Load(main).Errors.Select(e => e.ToString());

        Assert.Equal([$"{main}:2: open() \"{folder.PathOf("conf.d/*.conf")}\" failed (No such file or directory)"], errors);
    }

    [Fact]
    public void A_file_including_itself_is_an_error_not_a_loop()
    {
        using var folder = new TempFolder();
        var main = folder.Write("main.conf", "include main.conf;\n");

        var error = Assert.Single(ConfigLoader.Load(main).Errors);

        Assert.Equal($"{main}:1: recursive include of \"{main}\" in \"include\" directive", error.ToString());
        Assert.Equal("include", error.Directive);
    }

    [Fact]
    public void A_missing_config_file_is_an_error_not_an_exception()
    {
        using var folder = new TempFolder();
        var path = folder.PathOf("nope.conf");

        var result = ConfigLoader.Load(path);

        Assert.Null(result.Config);
        Assert.Equal([$"{path}:0: open() \"{path}\" failed (No such file or directory)"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Load_of_a_folder_says_it_is_one()
    {
        using var folder = new TempFolder();
        var path = folder.PathOf("conf.d");
        Directory.CreateDirectory(path);

        var result = ConfigLoader.Load(path);

        Assert.Null(result.Config);
        Assert.Equal([$"{path}:0: open() \"{path}\" failed (Is a directory)"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Load_names_the_file_by_its_absolute_path()
    {
        using var folder = new TempFolder();
        folder.Write("relative.conf", "bogus;\n");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, folder.PathOf("relative.conf"));

        var error = Assert.Single(ConfigLoader.Load(relative).Errors);

        Assert.Equal(new SourceLocation(folder.PathOf("relative.conf"), 1), error.Location);
    }
}
