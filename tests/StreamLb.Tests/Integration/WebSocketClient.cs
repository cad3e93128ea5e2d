using System.Net.WebSockets;

namespace StreamLb.Tests.Integration;

/// <summary>A browser-like WebSocket client for the tests: trusts the test certificate, echoes whole messages.</summary>
internal static class WebSocketClient
{
    public static async Task<ClientWebSocket> ConnectAsync(int port, bool tls = true, CancellationToken cancel = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(new Uri($"{(tls ? "wss" : "ws")}://127.0.0.1:{port}/"), cancel);
        return socket;
    }

    /// <summary>Sends one message and returns the whole message that comes back.</summary>
    public static async Task<(byte[] Data, WebSocketMessageType Type)> EchoAsync(
        this ClientWebSocket socket, byte[] payload, WebSocketMessageType type, CancellationToken cancel = default)
    {
        await socket.SendAsync(payload, type, endOfMessage: true, cancel);
        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancel);
            if (result.MessageType == WebSocketMessageType.Close)
                throw new InvalidOperationException($"closed by the server: {result.CloseStatus} {result.CloseStatusDescription}");
            received.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
                return (received.ToArray(), result.MessageType);
        }
    }

    public static async Task CloseAsync(this ClientWebSocket socket)
    {
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        socket.Dispose();
    }
}
