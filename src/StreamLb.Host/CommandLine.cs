using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using StreamLb.Configuration;
using StreamLb.Tls;

namespace StreamLb.Host;

/// <summary>The parsed command line: <c>run [-c FILE] [options]</c> or <c>check -c FILE</c>.</summary>
public sealed record CommandLine
{
    public const string DefaultConfig = "cluster-config/streamlb.conf";

    public const string Usage = """
        usage:
          streamlb run   [-c FILE] [options]   run a node (default config: cluster-config/streamlb.conf)
          streamlb check -c FILE               check a config file: prints "ok" or every error, exit code 1 on errors

        run options:
          --demo                  also start an echo backend on every loopback server of the config's upstreams
          --cluster-host HOST     the address other nodes reach this one at (default 127.0.0.1)
          --cluster-port N        the cluster (remoting) port (default 4053; 0 picks a free one)
          --seed HOST:PORT        a seed node to join (repeatable); without seeds the node forms a cluster of one
          --admin HOST:PORT|off   the admin API (default 127.0.0.1:8081)
          --admin-token TOKEN     bearer token for admin changes (or STREAMLB_ADMIN_TOKEN); required off loopback
          --drain-timeout TIME    how long a drained server's connections may go on (default: until they end)
          --shutdown-timeout TIME on SIGTERM, how long connections may go on once the node stops accepting (default 5s)
          --max-connections N     the most client connections at once (default: what the open-file limit allows)
          --stable-after TIME     split-brain resolver: stable membership before unreachable nodes are downed (default 20s)
          --log-level LEVEL       debug (adds a line per relayed connection), info (default), warning or error
          --tls-engine ENGINE     openssl (the system's libssl 3) or sslstream (.NET's); default: openssl where it loads
        """;

    public required string Command { get; init; }

    public string? ConfigFile { get; init; }

    public bool Demo { get; init; }

    public string ClusterHost { get; init; } = "127.0.0.1";

    public int ClusterPort { get; init; } = 4053;

    public IReadOnlyList<string> Seeds { get; init; } = [];

    /// <summary>Null when the admin API is off.</summary>
    public IPEndPoint? Admin { get; init; } = new(IPAddress.Loopback, 8081);

    public string? AdminToken { get; init; }

    public TimeSpan? DrainTimeout { get; init; }

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public int? MaxConnections { get; init; }

    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The lowest level logged, by the program and by Akka alike.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    public TlsEngine TlsEngine { get; init; } = TlsEngine.Auto;

    /// <summary>Parses <paramref name="args"/>; returns null and sets <paramref name="error"/> when they are wrong.</summary>
    public static CommandLine? Parse(string[] args, out string? error)
    {
        error = null;
        var command = args.Length == 0 || args[0].StartsWith('-') ? "run" : args[0];
        if (command is not ("run" or "check"))
        {
            error = $"unknown command \"{command}\"";
            return null;
        }

        var result = new CommandLine { Command = command, AdminToken = Environment.GetEnvironmentVariable("STREAMLB_ADMIN_TOKEN") };
        var seeds = new List<string>();
        for (var i = command == args.ElementAtOrDefault(0) ? 1 : 0; i < args.Length; i++)
        {
            var option = args[i];
            if (option == "--demo" && command == "run")
            {
                result = result with { Demo = true };
                continue;
            }

            if (i + 1 >= args.Length || (command == "check" && option is not ("-c" or "--config")))
                return Fail(out error, $"unknown or incomplete option \"{option}\"");
            var value = args[++i];
            switch (option)
            {
                case "-c" or "--config":
                    result = result with { ConfigFile = value };
                    break;
                case "--cluster-host":
                    result = result with { ClusterHost = value };
                    break;
                case "--cluster-port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535:
                    result = result with { ClusterPort = port };
                    break;
                case "--seed" when IsHostPort(value):
                    seeds.Add(value);
                    break;
                case "--admin" when value == "off":
                    result = result with { Admin = null };
                    break;
                case "--admin" when IPEndPoint.TryParse(value, out var admin):
                    result = result with { Admin = admin };
                    break;
                case "--admin-token":
                    result = result with { AdminToken = value };
                    break;
                case "--drain-timeout" when TimeValue.TryParse(value, out var drain):
                    result = result with { DrainTimeout = drain };
                    break;
                case "--shutdown-timeout" when TimeValue.TryParse(value, out var shutdown):
                    result = result with { ShutdownTimeout = shutdown };
                    break;
                case "--max-connections" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0:
                    result = result with { MaxConnections = max };
                    break;
                case "--stable-after" when TimeValue.TryParse(value, out var stable):
                    result = result with { StableAfter = stable };
                    break;
                case "--log-level" when LogLevels.TryGetValue(value, out var level):
                    result = result with { LogLevel = level };
                    break;
                case "--tls-engine" when value is "openssl" or "sslstream":
                    result = result with { TlsEngine = value == "openssl" ? TlsEngine.OpenSsl : TlsEngine.SslStream };
                    break;
                default:
                    return Fail(out error, $"invalid option \"{option} {value}\"");
            }
        }

        if (command == "check" && result.ConfigFile is null)
            return Fail(out error, "check needs -c FILE");
        return result with { Seeds = seeds };
    }

    private static readonly Dictionary<string, LogLevel> LogLevels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["debug"] = LogLevel.Debug, ["info"] = LogLevel.Information, ["warning"] = LogLevel.Warning, ["error"] = LogLevel.Error,
    };

    private static bool IsHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        return colon > 0 && int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535;
    }

    private static CommandLine? Fail(out string? error, string message)
    {
        error = message;
        return null;
    }
}
