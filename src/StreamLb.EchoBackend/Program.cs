using System.Runtime.InteropServices;
using StreamLb.EchoBackend;

// Usage: StreamLb.EchoBackend [HOST:]PORT [NAME]   (default 127.0.0.1:8080)
var (host, port) = args.Length > 0 ? ParseEndpoint(args[0]) : ("127.0.0.1", 8080);
await using var server = await EchoServer.StartAsync(host, port, args.Length > 1 ? args[1] : null);
Console.WriteLine($"echo backend {server.Name} listening on ws://{server.EndPoint}");

var stop = new TaskCompletionSource();
// The server's web host takes SIGTERM and SIGINT for itself (stopping only its own lifetime, so the process would
// never exit): the program registers for them too.
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
await stop.Task;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}

static (string Host, int Port) ParseEndpoint(string value)
{
    var colon = value.LastIndexOf(':');
    return colon < 0 ? ("127.0.0.1", int.Parse(value)) : (value[..colon].Trim('[', ']'), int.Parse(value[(colon + 1)..]));
}
