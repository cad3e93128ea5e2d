using StreamLb.EchoBackend;

namespace StreamLb.Tests.Integration;

/// <summary>The stream configs most tests run: one TLS listener on an ephemeral port in front of the given backends.</summary>
internal static class TestConfigs
{
    /// <param name="method">The upstream's balancing directive, e.g. <c>least_conn;</c>, or empty for round robin.</param>
    /// <param name="serverExtra">More directives for the server block (timeouts, another listen).</param>
    public static string Tls(IEnumerable<EchoServer> backends, string method = "least_conn;", string serverExtra = "") =>
        Tls($"{method}\n{string.Join("\n", backends.Select(b => $"server {b.EndPoint};"))}", serverExtra);

    /// <param name="upstreamBody">The directives inside <c>upstream backend { … }</c>.</param>
    /// <param name="serverExtra">More directives for the server block (timeouts, another listen).</param>
    public static string Tls(string upstreamBody, string serverExtra = "") => $$"""
        stream {
            upstream backend {
                {{upstreamBody}}
            }
            server {
                listen 127.0.0.1:0 ssl;
                ssl_certificate {cert};
                ssl_certificate_key {key};
                {{serverExtra}}
                proxy_pass backend;
            }
        }
        """;
}
