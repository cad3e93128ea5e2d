using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;

namespace StreamLb.Bench.WsLoad;

/// <summary>
/// Every connection sends a message, waits for its echo, and sends the next: round trips are timed one by one, and
/// all connections run at once. Opening and closing the connections are not part of the figures.
/// </summary>
public static class PingPong
{
    public sealed record Result(int Connections, long Messages, int Errors, double Seconds, double P50Us, double P99Us, double MaxUs)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $$"""{"connections":{{Connections}},"messages":{{Messages}},"errors":{{Errors}},"seconds":{{Seconds:F3}},"rate":{{(Seconds > 0 ? Messages / Seconds : 0):F1}},"p50_us":{{P50Us:F1}},"p99_us":{{P99Us:F1}},"max_us":{{MaxUs:F1}}}""");
    }

    public static async Task<Result> RunAsync(IReadOnlyList<ClientWebSocket> sockets, int messages, int size, CancellationToken cancel)
    {
        var timings = new long[sockets.Count][];
        var errors = 0;
        var clock = Stopwatch.StartNew();
        var runs = sockets.Select(async (socket, i) =>
        {
            try
            {
                timings[i] = await RoundTripsAsync(socket, messages, size, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or InvalidDataException)
            {
                timings[i] = [];
                Interlocked.Increment(ref errors);
            }
        });
        await Task.WhenAll(runs).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;

        var all = timings.SelectMany(t => t).ToArray();
        Array.Sort(all);
        return new Result(sockets.Count, all.Length, errors, seconds, Micros(all, 0.50), Micros(all, 0.99), Micros(all, 1.0));
    }

    public static async Task CloseAllAsync(IEnumerable<ClientWebSocket> sockets)
    {
        foreach (var socket in sockets)
        {
            try
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
                // Closing is not measured; a slow close only delays the exit.
            }
            finally
            {
                socket.Dispose();
            }
        }
    }

    private static async Task<long[]> RoundTripsAsync(ClientWebSocket socket, int messages, int size, CancellationToken cancel)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var buffer = new byte[Math.Max(size, 4096)];
        var timings = new long[messages];
        for (var n = 0; n < messages; n++)
        {
            var started = Stopwatch.GetTimestamp();
            await socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, cancel).ConfigureAwait(false);
            var received = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(received), cancel).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                    throw new InvalidDataException("the server closed the connection mid-run");
                received += result.Count;
            }
            while (!result.EndOfMessage);
            timings[n] = Stopwatch.GetTimestamp() - started;
            if (received != size)
                throw new InvalidDataException($"echo of {received} bytes for a message of {size}");
        }

        return timings;
    }

    private static double Micros(long[] sorted, double quantile)
    {
        if (sorted.Length == 0)
            return 0;
        var index = Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1);
        return sorted[Math.Max(0, index)] * 1_000_000.0 / Stopwatch.Frequency;
    }
}
