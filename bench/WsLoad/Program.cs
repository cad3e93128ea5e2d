using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using StreamLb.Bench.WsLoad;

// The benchmark's WebSocket client. Every mode prints its results as one JSON line on stdout.
//   WsLoad pingpong URL CONNECTIONS MESSAGES [SIZE] [TIMEOUT_S]   each connection sends MESSAGES messages, one at a time,
//                                                                 and waits for each echo; round trips timed
//   WsLoad idle     URL CONNECTIONS [TIMEOUT_S]                   opens CONNECTIONS, prints, holds them until a line
//                                                                 (or end of input) arrives on stdin, then closes them
const string Usage = "usage: WsLoad pingpong URL CONNECTIONS MESSAGES [SIZE] [TIMEOUT_S] | WsLoad idle URL CONNECTIONS [TIMEOUT_S]";

if (args.Length < 3 || args[0] is not ("pingpong" or "idle"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

var url = new Uri(args[1]);
var connections = Int(args, 2, 0);
if (args[0] == "pingpong")
{
    var messages = Int(args, 3, 0);
    var size = Int(args, 4, 32);
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Int(args, 5, 60)));
    var result = await PingPong.RunAsync(url, connections, messages, size, deadline.Token);
    Console.WriteLine(result);
    return result.Errors == 0 ? 0 : 1;
}
else
{
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(Int(args, 3, 120)));
    var opened = Stopwatch.StartNew();
    var (sockets, errors) = await Connector.OpenAsync(url, connections, deadline.Token);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $$"""{"held":{{sockets.Count}},"errors":{{errors}},"open_seconds":{{opened.Elapsed.TotalSeconds:F3}}}"""));
    Console.Out.Flush();

    // Hold until told to let go; the deadline bounds the wait even if nobody says so.
    var release = Task.Run(Console.In.ReadLine, CancellationToken.None);
    await Task.WhenAny(release, Task.Delay(Timeout.Infinite, deadline.Token).ContinueWith(_ => { }, TaskScheduler.Default));
    var stillOpen = sockets.Count(s => s.State == WebSocketState.Open);
    foreach (var socket in sockets)
        socket.Dispose();
    Console.WriteLine($$"""{"closed":{{sockets.Count}},"open_at_release":{{stillOpen}}}""");
    return errors == 0 && stillOpen == sockets.Count ? 0 : 1;
}

static int Int(string[] args, int index, int fallback) =>
    args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
