using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using StreamLb.Bench.WsLoad;

// The benchmark's WebSocket client. Every mode prints its results as one JSON line on stdout.
//   WsLoad pingpong URL CONNECTIONS MESSAGES [SIZE] [TIMEOUT_S]   opens CONNECTIONS, prints, waits for a line (or end of
//                                                                 input) on stdin; then each connection sends MESSAGES
//                                                                 messages, one at a time, and waits for each echo;
//                                                                 prints the timed round trips before closing
//   WsLoad idle     URL CONNECTIONS [TIMEOUT_S]                   opens CONNECTIONS, prints, holds them until a line
//                                                                 (or end of input) arrives on stdin, then closes them
//   WsLoad connect  URL[,URL…] CONNECTIONS [PARALLEL] [SIZE] [TIMEOUT_S]
//                                                                 opens CONNECTIONS new connections, PARALLEL at a time
//                                                                 (default 1: one after another), each timed from its
//                                                                 TCP connect to its first echoed message, then closed;
//                                                                 worker i uses URL i mod the number of URLs
const string Usage = "usage: WsLoad pingpong URL CONNECTIONS MESSAGES [SIZE] [TIMEOUT_S] | WsLoad idle URL CONNECTIONS [TIMEOUT_S]"
                     + " | WsLoad connect URL[,URL...] CONNECTIONS [PARALLEL] [SIZE] [TIMEOUT_S]";

if (args.Length < 3 || args[0] is not ("pingpong" or "idle" or "connect"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

if (args[0] == "connect")
{
    var urls = args[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(u => new Uri(u)).ToList();
    using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(Int(args, 5, 60)));
    return await ConnectEcho.RunAsync(urls, Int(args, 2, 0), Int(args, 3, 1), Int(args, 4, 32), limit.Token);
}

var url = new Uri(args[1]);
var connections = Int(args, 2, 0);
if (args[0] == "pingpong")
{
    var messages = Int(args, 3, 0);
    var size = Int(args, 4, 32);
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Int(args, 5, 60)));
    var (sockets, openErrors) = await Connector.OpenAsync(url, connections, deadline.Token);
    Console.WriteLine($$"""{"opened":{{sockets.Count}},"errors":{{openErrors}}}""");
    Console.Out.Flush();
    await WaitForLineAsync(deadline.Token);
    var result = await PingPong.RunAsync(sockets, messages, size, deadline.Token);
    Console.WriteLine(result with { Errors = result.Errors + openErrors });
    Console.Out.Flush();
    await PingPong.CloseAllAsync(sockets);
    return result.Errors + openErrors == 0 ? 0 : 1;
}
else
{
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Int(args, 3, 120)));
    var opened = Stopwatch.StartNew();
    var (sockets, errors) = await Connector.OpenAsync(url, connections, deadline.Token);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $$"""{"held":{{sockets.Count}},"errors":{{errors}},"open_seconds":{{opened.Elapsed.TotalSeconds:F3}}}"""));
    Console.Out.Flush();

    await WaitForLineAsync(deadline.Token);
    var stillOpen = sockets.Count(s => s.State == WebSocketState.Open);
    foreach (var socket in sockets)
        socket.Dispose();
    Console.WriteLine($$"""{"closed":{{sockets.Count}},"open_at_release":{{stillOpen}}}""");
    return errors == 0 && stillOpen == sockets.Count ? 0 : 1;
}

// Waits for the driving script; the deadline bounds the wait even if it never says so.
static async Task WaitForLineAsync(CancellationToken deadline)
{
    var line = Task.Run(Console.In.ReadLine, CancellationToken.None);
    await Task.WhenAny(line, Task.Delay(Timeout.Infinite, deadline).ContinueWith(_ => { }, TaskScheduler.Default));
}

static int Int(string[] args, int index, int fallback) =>
    args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
