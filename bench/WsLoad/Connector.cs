using System.Net.WebSockets;

namespace StreamLb.Bench.WsLoad;

/// <summary>Opens many <c>ws://</c> or <c>wss://</c> connections, a bounded number of handshakes at a time.</summary>
public static class Connector
{
    /// <summary>Handshakes in flight at once: enough to keep a proxy busy without a connect storm in its backlog.</summary>
    public const int Parallel = 32;

    public static async Task<ClientWebSocket> ConnectAsync(Uri url, CancellationToken cancel)
    {
        var socket = new ClientWebSocket();
        // The benchmark's certificate is self-signed and made for the run.
        socket.Options.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(url, cancel).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Opens up to <paramref name="count"/> connections; failures are counted, not thrown.</summary>
    public static async Task<(List<ClientWebSocket> Sockets, int Errors)> OpenAsync(Uri url, int count, CancellationToken cancel)
    {
        var sockets = new List<ClientWebSocket>(count);
        var errors = 0;
        var next = -1;
        var workers = Enumerable.Range(0, Math.Min(Parallel, count)).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count && !cancel.IsCancellationRequested)
            {
                try
                {
                    var socket = await ConnectAsync(url, cancel).ConfigureAwait(false);
                    lock (sockets)
                        sockets.Add(socket);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or System.Net.Http.HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        return (sockets, errors);
    }
}
