using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace StreamLb.Configuration;

/// <summary>Parses the addresses of <c>listen</c> and of upstream <c>server</c>; errors use nginx's words.</summary>
internal static class HostPort
{
    /// <summary>
    /// <c>[ADDR:]PORT</c> with an IPv4 literal, <c>*</c> or <c>[IPv6]</c>; port 0..65535. The host comes back
    /// normalized, without brackets, <c>0.0.0.0</c> when omitted. Returns the error, or null.
    /// </summary>
    public static string? ParseListen(string text, out string host, out int port)
    {
        host = "0.0.0.0";
        port = 0;
        if (text.Length > 0 && text.All(char.IsAsciiDigit))
            return ParsePort(text, 0, out port);
        var error = Split(text, out var hostText, out var portText);
        if (error is not null)
            return error;
        if (hostText != "*")
        {
            if (!TryParseIp(hostText, out var address))
                return "invalid host";
            host = address.ToString();
        }

        return ParsePort(portText, 0, out port);
    }

    /// <summary><c>HOST:PORT</c> with a hostname, IPv4 literal or <c>[IPv6]</c>; port 1..65535. Returns the error, or null.</summary>
    public static string? ParseServer(string text)
    {
        var error = Split(text, out var host, out var portText);
        if (error is not null)
            return error;
        if (!TryParseIp(host, out _) && !IsHostName(host))
            return "invalid host";
        return ParsePort(portText, 1, out _);
    }

    // Splits at the port's colon; an IPv6 host must be bracketed, so a bare host has no colon.
    private static string? Split(string text, out string host, out string port)
    {
        host = text;
        port = "";
        int colon;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0)
                return "invalid host";
            host = text[1..close];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
                return "invalid host";
            if (close == text.Length - 1)
                return "no port";
            if (text[close + 1] != ':')
                return "invalid host";
            colon = close + 1;
        }
        else
        {
            colon = text.IndexOf(':');
            if (colon < 0)
                return "no port";
            if (colon != text.LastIndexOf(':'))
                return "invalid host";
            host = text[..colon];
        }

        port = text[(colon + 1)..];
        return null;
    }

    private static string? ParsePort(string text, int min, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port >= min && port <= 65535
            ? null
            : "invalid port";

    // IPAddress.TryParse alone would take "1" or "1.2" as IPv4, so the dotted quad is checked first.
    private static bool TryParseIp(string host, out IPAddress address)
    {
        address = IPAddress.None;
        if (host.Contains(':'))
            return IPAddress.TryParse(host, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        return host.Count(c => c == '.') == 3
            && host.All(c => c == '.' || char.IsAsciiDigit(c))
            && IPAddress.TryParse(host, out address!);
    }

    // A name of digits and dots only would be a malformed IPv4 address, not a host name.
    private static bool IsHostName(string host) =>
        host.Length > 0
        && host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')
        && char.IsAsciiLetterOrDigit(host[0])
        && host.Any(char.IsAsciiLetter);
}
