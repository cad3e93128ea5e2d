using System.Globalization;
using System.Net;

namespace StreamLb.Connections;

/// <summary>Turns a server's <c>host:port</c> into the endpoint to connect to.</summary>
public static class UpstreamAddress
{
    public static EndPoint Parse(string address)
    {
        var colon = address.LastIndexOf(':');
        var host = address[..colon].Trim('[', ']');
        var port = int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture);
        return IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
    }
}
