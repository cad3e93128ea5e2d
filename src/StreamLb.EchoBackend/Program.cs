using StreamLb.EchoBackend;

// Usage: StreamLb.EchoBackend [HOST:]PORT [NAME]   (default 127.0.0.1:8080)
var (host, port) = args.Length > 0 ? ParseEndpoint(args[0]) : ("127.0.0.1", 8080);
await using var server = await EchoServer.StartAsync(host, port, args.Length > 1 ? args[1] : null);
Console.WriteLine($"echo backend {server.Name} listening on ws://{server.EndPoint}");

var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
await stop.Task;

static (string Host, int Port) ParseEndpoint(string value)
{
    var colon = value.LastIndexOf(':');
    return colon < 0 ? ("127.0.0.1", int.Parse(value)) : (value[..colon].Trim('[', ']'), int.Parse(value[(colon + 1)..]));
}
