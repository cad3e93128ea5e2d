using System.Net;
using System.Text;

namespace StreamLb.Connections;

/// <summary>Expands the variables of a <c>hash</c> key for one connection.</summary>
public static class HashKeys
{
    public static string Expand(string template, EndPoint client, EndPoint server)
    {
        var (clientIp, clientPort) = Split(client);
        var (serverIp, serverPort) = Split(server);
        // Longest names first so $remote_addr is not read as $remote_ plus text.
        return new StringBuilder(template)
            .Replace("$binary_remote_addr", clientIp is null ? "" : Convert.ToHexString(clientIp.GetAddressBytes()))
            .Replace("$remote_addr", clientIp?.ToString() ?? "")
            .Replace("$remote_port", clientPort.ToString())
            .Replace("$server_addr", serverIp?.ToString() ?? "")
            .Replace("$server_port", serverPort.ToString())
            .ToString();
    }

    private static (IPAddress? Ip, int Port) Split(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address, ip.Port),
        _ => (null, 0),
    };
}
