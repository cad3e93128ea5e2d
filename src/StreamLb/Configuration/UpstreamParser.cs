using StreamLb.Balancing;

namespace StreamLb.Configuration;

/// <summary>Reads an <c>upstream NAME { }</c> block: its servers and its load-balancing method.</summary>
internal static class UpstreamParser
{
    private static readonly string[] HashVariables =
        ["remote_addr", "binary_remote_addr", "remote_port", "server_addr", "server_port"];

    /// <summary>The upstream of <paramref name="d"/>, a block with one argument; errors go to <paramref name="context"/>.</summary>
    public static UpstreamConfig Parse(ConfigDirective d, ParseContext context)
    {
        var servers = new List<UpstreamServerConfig>();
        string? policy = null;
        string? hashKey = null;
        var consistent = false;
        foreach (var c in d.Block!)
        {
            switch (c.Name)
            {
                case "server":
                    if (context.IsSimple(c, 1, int.MaxValue) && ParseServer(c, context) is { } server)
                        servers.Add(server);
                    break;
                case "least_conn":
                    if (context.IsSimple(c, 0, 0))
                        SetMethod(c, context, ref policy, LoadBalancingPolicies.LeastConn);
                    break;
                case "random":
                    if (context.IsSimple(c, 0, 2) && RandomMethod(c, context) is { } random)
                        SetMethod(c, context, ref policy, random);
                    break;
                case "hash":
                    if (context.IsSimple(c, 1, 2) && IsHashKey(c, context)
                        && SetMethod(c, context, ref policy, LoadBalancingPolicies.Hash))
                        (hashKey, consistent) = (c.Args[0], c.Args.Count == 2);
                    break;
                default:
                    context.NotAllowedHere(c);
                    break;
            }
        }

        // A server line that was itself wrong has been reported already; only a block without any is reported here.
        if (!d.Block.Any(c => c.Name == "server"))
            context.Error(d, $"upstream \"{d.Args[0]}\" has no servers");
        if (policy is LoadBalancingPolicies.Hash or LoadBalancingPolicies.Random or LoadBalancingPolicies.RandomTwoLeastConn)
        {
            foreach (var backup in servers.Where(s => s.Backup))
                context.Error(backup.Location, "server", "balancing method does not support parameter \"backup\"");
        }

        return new UpstreamConfig
        {
            Name = d.Args[0],
            Servers = servers,
            Policy = policy ?? LoadBalancingPolicies.RoundRobin,
            HashKey = hashKey,
            HashConsistent = consistent,
            Location = d.Location,
        };
    }

    private static UpstreamServerConfig? ParseServer(ConfigDirective d, ParseContext context)
    {
        var address = d.Args[0];
        if (HostPort.ParseServer(address) is { } error)
        {
            context.Error(d, $"{error} in \"{address}\" of the \"server\" directive");
            return null;
        }

        var initial = new UpstreamServerConfig { Address = address, Location = d.Location };
        return context.Parameters(d, 1, initial, (server, parameter, key, value) => key switch
        {
            "weight" when ParseContext.Number(value, 1) is { } weight => server with { Weight = weight },
            "max_conns" when ParseContext.Number(value, 0) is { } maxConns => server with { MaxConns = maxConns },
            "max_fails" when ParseContext.Number(value, 0) is { } maxFails => server with { MaxFails = maxFails },
            "fail_timeout" when TimeValue.TryParse(value, out var failTimeout) => server with { FailTimeout = failTimeout },
            "backup" when parameter == key => server with { Backup = true },
            "down" when parameter == key => server with { Down = true },
            _ => null,
        });
    }

    private static string? RandomMethod(ConfigDirective d, ParseContext context)
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
            context.Error(d, $"invalid parameter \"{invalid}\" in \"random\" directive");
            return null;
        }

        // "random two" picks by least connections too; that is nginx's default for two choices.
        return d.Args.Count == 0 ? LoadBalancingPolicies.Random : LoadBalancingPolicies.RandomTwoLeastConn;
    }

    private static bool IsHashKey(ConfigDirective d, ParseContext context)
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
                context.Error(d, $"invalid value \"{key}\" in \"hash\" directive");
                return false;
            }

            if (!HashVariables.Contains(key[start..end]))
            {
                context.Error(d, $"unknown \"{key[start..end]}\" variable");
                return false;
            }
        }

        if (d.Args.Count == 2 && d.Args[1] != "consistent")
        {
            context.Error(d, $"invalid parameter \"{d.Args[1]}\" in \"hash\" directive");
            return false;
        }

        return true;
    }

    private static bool SetMethod(ConfigDirective d, ParseContext context, ref string? policy, string method)
    {
        if (policy is not null)
        {
            context.Error(d, "load balancing method redefined");
            return false;
        }

        policy = method;
        return true;
    }
}
