using System.Globalization;

namespace StreamLb.Configuration;

/// <summary>What the parsers of every context share: the error list and the checks of a directive's shape.</summary>
internal sealed class ParseContext(List<ConfigError> errors)
{
    // Directives known in some context: elsewhere they are "not allowed here" rather than "unknown".
    private static readonly HashSet<string> Known =
    [
        "stream", "upstream", "server", "listen", "proxy_pass", "least_conn", "random", "hash", "include",
        "proxy_connect_timeout", "proxy_timeout", "proxy_half_close", "proxy_next_upstream", "proxy_next_upstream_tries",
        "proxy_next_upstream_timeout", "ssl_certificate", "ssl_certificate_key", "ssl_protocols", "ssl_ciphers",
        "ssl_handshake_timeout", "health_check", "health_check_timeout",
    ];

    public void Error(ConfigDirective d, string message) => Error(d.Location, d.Name, message);

    public void Error(SourceLocation location, string directive, string message) =>
        errors.Add(new ConfigError(location, directive, message));

    public bool IsBlock(ConfigDirective d, int minArgs, int maxArgs)
    {
        if (d.Block is not null)
            return HasArgs(d, minArgs, maxArgs);
        Error(d, $"directive \"{d.Name}\" has no opening \"{{\"");
        return false;
    }

    public bool IsSimple(ConfigDirective d, int minArgs, int maxArgs)
    {
        if (d.Block is null)
            return HasArgs(d, minArgs, maxArgs);
        Error(d, $"directive \"{d.Name}\" is not terminated by \";\"");
        return false;
    }

    public void Duplicate(ConfigDirective d) => Error(d, $"\"{d.Name}\" directive is duplicate");

    public void NotAllowedHere(ConfigDirective d) =>
        Error(d, Known.Contains(d.Name) ? $"\"{d.Name}\" directive is not allowed here" : $"unknown directive \"{d.Name}\"");

    public bool InvalidValue(ConfigDirective d, string value)
    {
        Error(d, $"invalid value \"{value}\" in \"{d.Name}\" directive");
        return false;
    }

    public static int? Number(string text, int min) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min ? n : null;

    /// <summary>
    /// <paramref name="initial"/> with the parameters of <paramref name="d"/> from <paramref name="skip"/> on applied
    /// by <paramref name="apply"/> (current, parameter, key, value; a bare flag has an empty value); null once it has
    /// reported the first parameter that <paramref name="apply"/> rejects with null.
    /// </summary>
    public T? Parameters<T>(ConfigDirective d, int skip, T initial, Func<T, string, string, string, T?> apply)
        where T : class
    {
        var result = initial;
        foreach (var parameter in d.Args.Skip(skip))
        {
            var (key, value) = parameter.IndexOf('=') is var eq and >= 0 ? (parameter[..eq], parameter[(eq + 1)..]) : (parameter, "");
            if (apply(result, parameter, key, value) is not { } next)
            {
                Error(d, $"invalid parameter \"{parameter}\" in \"{d.Name}\" directive");
                return null;
            }

            result = next;
        }

        return result;
    }

    private bool HasArgs(ConfigDirective d, int min, int max)
    {
        if (d.Args.Count >= min && d.Args.Count <= max)
            return true;
        Error(d, $"invalid number of arguments in \"{d.Name}\" directive");
        return false;
    }
}
