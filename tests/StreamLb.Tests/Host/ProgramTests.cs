using System.Net.WebSockets;
using System.Text;
using StreamLb.Host;
using StreamLb.Tests.Configuration;
using StreamLb.Tests.Integration;
using StreamLb.Tls;
using Xunit;

namespace StreamLb.Tests.Host;

/// <summary>The <c>streamlb</c> program itself: the default run on a fresh checkout, and <c>check</c>.</summary>
public sealed class ProgramTests
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_default_config_with_demo_generates_a_certificate_and_echoes_wss_right_away_and_debug_logs_each_connection()
    {
        // The repository's default config, in a folder of its own so no certificate exists yet: a fresh checkout.
        var folder = Directory.CreateTempSubdirectory("streamlb-default-");
        var configFile = Path.Combine(folder.FullName, "streamlb.conf");
        File.Copy(Path.Combine(RepositoryRoot(), CommandLine.DefaultConfig), configFile);
        try
        {
            await using var node = NodeProcess.Start(folder.FullName, "run", "-c", configFile, "--demo", "--log-level", "debug");
            await node.WaitForLine("listening on 127.0.0.1:8443", Startup);

            var client = await WebSocketClient.ConnectAsync(8443);
            var (echoed, type) = await client.EchoAsync(Encoding.UTF8.GetBytes("hello through streamlb"), WebSocketMessageType.Text);
            await client.CloseAsync();

            Assert.Equal("hello through streamlb", Encoding.UTF8.GetString(echoed));
            Assert.Equal(WebSocketMessageType.Text, type);
            // At debug level every relayed connection gets its line once it ends (at info it would get none).
            var line = await node.WaitForLine("bytes from client", Startup);
            Assert.Contains("↔ server 127.0.0.1:900", line);
            Assert.Contains("SELF-SIGNED DEVELOPMENT certificate", node.Output);
            Assert.Contains("TLS by OpenSSL 3.", node.Output); // the default engine, where libssl 3 loads
            Assert.True(File.Exists(Path.Combine(folder.FullName, "certs", "server.crt")));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_tls_engine_option_takes_openssl_or_sslstream_and_nothing_else()
    {
        Assert.Equal(TlsEngine.Auto, CommandLine.Parse(["run"], out _)!.TlsEngine);
        Assert.Equal(TlsEngine.OpenSsl, CommandLine.Parse(["run", "--tls-engine", "openssl"], out _)!.TlsEngine);
        Assert.Equal(TlsEngine.SslStream, CommandLine.Parse(["run", "--tls-engine", "sslstream"], out _)!.TlsEngine);
        Assert.Null(CommandLine.Parse(["run", "--tls-engine", "schannel"], out var error));
        Assert.Equal("invalid option \"--tls-engine schannel\"", error);
    }

    [Fact]
    public Task A_node_that_cannot_listen_on_an_address_of_its_config_says_why_and_exits_with_an_error() =>
        ExitsSayingWhyWhenItsPortIsTaken(port => (port, ["--admin", "off", "--cluster-port", "0"]),
            port => $"not listening: cannot listen on 127.0.0.1:{port}");

    [Fact]
    public Task A_node_whose_admin_api_cannot_listen_says_why_and_exits_with_an_error() =>
        ExitsSayingWhyWhenItsPortIsTaken(port => (0, ["--admin", $"127.0.0.1:{port}", "--cluster-port", "0"]),
            port => $"not starting: Failed to bind to address http://127.0.0.1:{port}: address already in use");

    [Fact]
    public Task A_node_whose_cluster_port_is_taken_says_why_and_exits_with_an_error() =>
        ExitsSayingWhyWhenItsPortIsTaken(port => (0, ["--admin", "off", "--cluster-port", port.ToString()]),
            port => $"not starting: Failed to bind to [127.0.0.1:{port}]");

    /// <summary>
    /// A port on loopback is taken (and kept) by the test; <paramref name="use"/> gives the node's <c>listen</c> port and
    /// options for it. The node must say <paramref name="why"/> in a line and exit with code 1, not with an exception.
    /// </summary>
    private static async Task ExitsSayingWhyWhenItsPortIsTaken(Func<int, (int Listen, string[] Options)> use, Func<int, string> why)
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (listen, options) = use(port);
        using var folder = new TempFolder();
        var config = folder.Write("taken.conf", $$"""
            stream {
                upstream backend { server 127.0.0.1:9; }
                server { listen 127.0.0.1:{{listen}}; proxy_pass backend; }
            }
            """);

        await using var node = NodeProcess.Start(folder.Root, ["run", "-c", config, .. options]);
        var exitCode = await node.WaitForExit(Startup);

        Assert.Equal(1, exitCode);
        Assert.Contains(why(port), node.Output);
        Assert.DoesNotContain("Unhandled exception", node.Output);
    }

    [Fact]
    public void Check_prints_ok_for_a_good_config_and_every_error_with_file_and_line_for_a_bad_one()
    {
        var folder = Directory.CreateTempSubdirectory("streamlb-check-");
        try
        {
            var good = Path.Combine(folder.FullName, "good.conf");
            File.WriteAllText(good, $$"""
                stream {
                    upstream backend { server 127.0.0.1:9001; }
                    server {
                        listen 127.0.0.1:8443 ssl;
                        ssl_certificate {{TestCertificate.CertificatePath}};
                        ssl_certificate_key {{TestCertificate.KeyPath}};
                        proxy_pass backend;
                    }
                }
                """);
            var bad = Path.Combine(folder.FullName, "bad.conf");
            File.WriteAllText(bad, """
                stream {
                    upstream backend { server 127.0.0.1:9001 weight=0; }
                    server {
                        listen 127.0.0.1:8443 ssl;
                        ssl_certificate missing.crt;
                        ssl_certificate_key missing.key;
                        proxy_timeout 10parsecs;
                        proxy_pass nowhere;
                        frobnicate on;
                    }
                }
                """);

            var goodOutput = new StringWriter();
            var badOutput = new StringWriter();
            Assert.Equal(0, CheckCommand.Run(good, goodOutput));
            Assert.Equal(1, CheckCommand.Run(bad, badOutput));

            Assert.Equal("ok", goodOutput.ToString().Trim());
            Assert.Equal(
                [
                    $"{bad}:2: invalid parameter \"weight=0\" in \"server\" directive",
                    $"{bad}:7: invalid value \"10parsecs\" in \"proxy_timeout\" directive",
                    $"{bad}:9: unknown directive \"frobnicate\"",
                    $"{bad}:8: no upstream \"nowhere\" for \"proxy_pass\" directive",
                ],
                badOutput.ToString().Trim().Split('\n'));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    internal static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "StreamLb.Actors.sln")))
                return folder.FullName;
        }

        throw new InvalidOperationException("the repository root was not found above " + AppContext.BaseDirectory);
    }
}
