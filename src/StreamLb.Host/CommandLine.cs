using System.Globalization;

namespace StreamLb.Host;

/// <summary>The parsed command line: <c>run -c FILE [--demo]</c> or <c>check -c FILE</c>.</summary>
public sealed record CommandLine
{
    public const string DefaultConfig = "cluster-config/streamlb.conf";

    public const string Usage = """
        usage:
          streamlb run   [-c FILE] [--demo]    run a node (default config: cluster-config/streamlb.conf)
          streamlb check -c FILE               check a config file: prints "ok" or every error, exit code 1 on errors

          --demo    also start an echo backend on every loopback server of the config's upstreams
        """;

    public required string Command { get; init; }

    public string? ConfigFile { get; init; }

    public bool Demo { get; init; }

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

        string? config = null;
        var demo = false;
        for (var i = command == args.ElementAtOrDefault(0) ? 1 : 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-c" or "--config" when i + 1 < args.Length:
                    config = args[++i];
                    break;
                case "--demo" when command == "run":
                    demo = true;
                    break;
                default:
                    error = string.Format(CultureInfo.InvariantCulture, "unknown or incomplete option \"{0}\"", args[i]);
                    return null;
            }
        }

        if (command == "check" && config is null)
        {
            error = "check needs -c FILE";
            return null;
        }

        return new CommandLine { Command = command, ConfigFile = config, Demo = demo };
    }
}
