using StreamLb.Configuration;
using Xunit;
using static StreamLb.Tests.Configuration.ParsedText;

namespace StreamLb.Tests.Configuration;

public sealed class HealthCheckConfigTests
{
    [Fact]
    public void Health_check_without_parameters_takes_the_defaults()
    {
        var config = Valid("""
            stream {
                upstream backend { server 10.0.0.1:80; }
                upstream other { server 10.0.0.2:80; }
                server {
                    listen 80;
                    health_check;
                    proxy_pass backend;
                }
                server { listen 81; proxy_pass other; }
            }
            """);

        Assert.Equal(
            new HealthCheckConfig
            {
                Interval = TimeSpan.FromSeconds(5),
                Fails = 1,
                Passes = 1,
                Timeout = TimeSpan.FromSeconds(5),
                Location = new SourceLocation("test.conf", 6),
            },
            config.FindUpstream("backend")!.HealthCheck);
        Assert.Null(config.FindUpstream("other")!.HealthCheck);
    }

    [Fact]
    public void Reads_every_parameter_and_the_timeout()
    {
        var check = Check("health_check interval=1m30s fails=3 passes=2; health_check_timeout 500ms;");

        Assert.Equal(TimeSpan.FromSeconds(90), check.Interval);
        Assert.Equal(3, check.Fails);
        Assert.Equal(2, check.Passes);
        Assert.Equal(TimeSpan.FromMilliseconds(500), check.Timeout);
    }

    [Fact]
    public void The_timeout_may_come_before_the_check_or_from_the_stream_block()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), Check("health_check_timeout 2s; health_check;").Timeout);

        var config = Valid("""
            stream {
                health_check_timeout 3s;
                upstream b { server 10.0.0.1:80; }
                server { listen 80; health_check; proxy_pass b; }
            }
            """);

        Assert.Equal(TimeSpan.FromSeconds(3), config.Upstreams[0].HealthCheck!.Timeout);
    }

    [Fact]
    public void A_timeout_without_a_check_is_ignored()
    {
        var config = Valid(Server("health_check_timeout 1s;"));

        Assert.Null(config.Upstreams[0].HealthCheck);
    }

    [Fact]
    public void A_check_of_a_server_block_with_an_address_goes_to_its_implicit_upstream()
    {
        var config = Valid("stream {\n    server { listen 80; health_check fails=2; proxy_pass 10.0.0.5:9000; }\n}\n");

        Assert.Equal(2, Assert.Single(config.Upstreams).HealthCheck!.Fails);
    }

    [Fact]
    public void Server_blocks_of_one_upstream_may_repeat_the_same_check()
    {
        var config = Valid("""
            stream {
                upstream b { server 10.0.0.1:80; }
                server { listen 80; health_check interval=2s; health_check_timeout 1s; proxy_pass b; }
                server { listen 81; health_check_timeout 1s; health_check interval=2000ms; proxy_pass b; }
                server { listen 82; proxy_pass b; }
            }
            """);

        Assert.Equal(new SourceLocation("test.conf", 3), config.Upstreams[0].HealthCheck!.Location);
    }

    [Fact]
    public void Server_blocks_of_one_upstream_must_not_check_it_differently()
    {
        var errors = Errors("""
            stream {
                upstream backend { server 10.0.0.1:80; }
                server { listen 80; health_check interval=2s; proxy_pass backend; }
                server {
                    listen 81;
                    health_check interval=3s;
                    proxy_pass backend;
                }
                server { listen 82; health_check interval=2s; health_check_timeout 1s; proxy_pass backend; }
                server { listen 83; health_check interval=2s; proxy_pass backend; }
            }
            """);

        Assert.Equal(
            [
                "test.conf:6: conflicting \"health_check\" for upstream \"backend\"",
                "test.conf:9: conflicting \"health_check\" for upstream \"backend\"",
            ],
            errors);
    }

    // Lines: 1 stream, 2 upstream, 3 the directive.
    [Theory]
    [InlineData("health_check interval=0;", "invalid parameter \"interval=0\" in \"health_check\" directive")]
    [InlineData("health_check interval=1q;", "invalid parameter \"interval=1q\" in \"health_check\" directive")]
    [InlineData("health_check fails=0;", "invalid parameter \"fails=0\" in \"health_check\" directive")]
    [InlineData("health_check passes=x;", "invalid parameter \"passes=x\" in \"health_check\" directive")]
    [InlineData("health_check fails;", "invalid parameter \"fails\" in \"health_check\" directive")]
    [InlineData("health_check match=ok;", "invalid parameter \"match=ok\" in \"health_check\" directive")]
    [InlineData("health_check; health_check;", "\"health_check\" directive is duplicate")]
    [InlineData("health_check { }", "directive \"health_check\" is not terminated by \";\"")]
    [InlineData("health_check_timeout 1q;", "invalid value \"1q\" in \"health_check_timeout\" directive")]
    [InlineData("health_check_timeout 0;", "invalid value \"0\" in \"health_check_timeout\" directive")]
    [InlineData("health_check_timeout;", "invalid number of arguments in \"health_check_timeout\" directive")]
    [InlineData("health_check_timeout 1s; health_check_timeout 2s;", "\"health_check_timeout\" directive is duplicate")]
    public void Reports_bad_health_check_directives(string directives, string error)
    {
        Assert.Equal(["test.conf:3: " + error], Errors(Server(directives)));
    }

    [Theory]
    [InlineData("stream {\n    health_check;\n}", "test.conf:2: \"health_check\" directive is not allowed here")]
    [InlineData("stream {\n    upstream b { server 10.0.0.1:80;\n    health_check; }\n}", "test.conf:3: \"health_check\" directive is not allowed here")]
    [InlineData("stream {\n    upstream b { server 10.0.0.1:80;\n    health_check_timeout 1s; }\n}", "test.conf:3: \"health_check_timeout\" directive is not allowed here")]
    public void Health_check_belongs_in_a_server_block(string text, string error)
    {
        Assert.Equal([error], Errors(text));
    }

    private static HealthCheckConfig Check(string directives) => Valid(Server(directives)).Upstreams[0].HealthCheck!;

    // Lines: 1 stream, 2 upstream, 3 the directives.
    private static string Server(string directives) => $$"""
        stream {
            upstream b { server 10.0.0.1:80; } server { listen 80; proxy_pass b;
        {{directives}}
            }
        }
        """;
}
