using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;

namespace StreamLb.Bench.WsLoad;

/// <summary>
/// New connections, one after another per worker: each is timed from the start of its TCP connect (TLS handshake,
/// WebSocket upgrade, the proxy's pick and its connect to the backend) to the first echoed message, then closed.
/// Several URLs spread the workers over several proxies (worker i uses URL i mod count), so that all of them are loaded
/// at once by one client. Latencies are reported per URL and for all together.
/// </summary>
public static class ConnectEcho
{
    public sealed record Figures(string Url, int Connections, int Errors, double P50Us, double P99Us, double MaxUs)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $$"""{"url":"{{Url}}","connections":{{Connections}},"errors":{{Errors}},"p50_us":{{P50Us:F1}},"p99_us":{{P99Us:F1}},"max_us":{{MaxUs:F1}}}""");
    }

    /// <summary>Prints one JSON line: totals, rate (connections per second), and the figures per URL.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<Uri> urls, int count, int parallel, int size, CancellationToken cancel)
    {
        var timings = urls.Select(_ => new List<long>()).ToArray();
        var errors = new int[urls.Count];
        var next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Max(1, parallel)).Select(async worker =>
        {
            var which = worker % urls.Count;
            var payload = new byte[size];
            Random.Shared.NextBytes(payload);
            var buffer = new byte[Math.Max(size, 4096)];
            while (Interlocked.Increment(ref next) < count && !cancel.IsCancellationRequested)
            {
                try
                {
                    var ticks = await OneAsync(urls[which], payload, buffer, cancel).ConfigureAwait(false);
                    lock (timings[which])
                        timings[which].Add(ticks);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException
                                              or InvalidDataException or System.Net.Http.HttpRequestException)
                {
                    Interlocked.Increment(ref errors[which]);
                }
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;

        var per = urls.Select((url, i) => Summarize(url.ToString(), timings[i], errors[i])).ToList();
        var all = Summarize("all", timings.SelectMany(t => t).ToList(), errors.Sum());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $$"""{"connections":{{all.Connections}},"errors":{{all.Errors}},"seconds":{{seconds:F3}},"rate":{{(seconds > 0 ? all.Connections / seconds : 0):F1}},"parallel":{{parallel}},"all":{{all}},"per_url":[{{string.Join(",", per)}}]}"""));
        Console.Out.Flush();
        return all.Errors == 0 ? 0 : 1;
    }

    private static async Task<long> OneAsync(Uri url, byte[] payload, byte[] buffer, CancellationToken cancel)
    {
        var started = Stopwatch.GetTimestamp();
        using var socket = await Connector.ConnectAsync(url, cancel).ConfigureAwait(false);
        await socket.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, cancel).ConfigureAwait(false);
        var received = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(received), cancel).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
                throw new InvalidDataException("the server closed the connection before the echo");
            received += result.Count;
        }
        while (!result.EndOfMessage);
        var elapsed = Stopwatch.GetTimestamp() - started;
        if (received != payload.Length)
            throw new InvalidDataException($"echo of {received} bytes for a message of {payload.Length}");

        // The close handshake is not timed, but it is part of every connection (and so of the rate).
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        closing.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, closing.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // A slow close only delays the next connection; the echo came back.
        }

        return elapsed;
    }

    private static Figures Summarize(string url, List<long> ticks, int errors)
    {
        var sorted = ticks.ToArray();
        Array.Sort(sorted);
        return new Figures(url, sorted.Length, errors, Micros(sorted, 0.50), Micros(sorted, 0.99), Micros(sorted, 1.0));
    }

    private static double Micros(long[] sorted, double quantile)
    {
        if (sorted.Length == 0)
            return 0;
        var index = Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1);
        return sorted[Math.Max(0, index)] * 1_000_000.0 / Stopwatch.Frequency;
    }
}
