using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StreamLb.EchoBackend;

/// <summary>
/// A plain <c>ws://</c> echo server: every message comes back as it was sent, text or binary, fragment by fragment.
/// Counts its connections so tests and the cluster's admin API can be checked against what the backends saw.
/// </summary>
public sealed class EchoServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _active;
    private long _total;

    private EchoServer(WebApplication app, string name)
    {
        _app = app;
        Name = name;
    }

    public string Name { get; }

    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>WebSocket connections open right now.</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    /// <summary>WebSocket connections accepted since start.</summary>
    public long TotalConnections => Interlocked.Read(ref _total);

    /// <summary>Starts listening on <paramref name="host"/>:<paramref name="port"/> (0 for an ephemeral port).</summary>
    public static async Task<EchoServer> StartAsync(string host, int port, string? name = null, ILoggerFactory? logging = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is not null)
            builder.Services.AddSingleton(logging);
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Parse(host), port));
        var app = builder.Build();
        var server = new EchoServer(app, name ?? $"echo-{host}:{port}");
        app.UseWebSockets();
        // A branch ahead of the echo handler: an endpoint would only run after it, and it answers every path.
        app.Map(new PathString("/stats"), stats => stats.Run(context =>
            Results.Json(new { name = server.Name, active = server.ActiveConnections, total = server.TotalConnections }).ExecuteAsync(context)));
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.EndPoint = new IPEndPoint(IPAddress.Parse(host), new Uri(address).Port);
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await context.Response.WriteAsync($"{Name}: a WebSocket echo backend\n").ConfigureAwait(false);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        Interlocked.Increment(ref _active);
        Interlocked.Increment(ref _total);
        try
        {
            await EchoAsync(socket, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // The client went away mid-message; nothing to echo to.
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private static async Task EchoAsync(WebSocket socket, CancellationToken cancel)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancel).ConfigureAwait(false);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(received.CloseStatus ?? WebSocketCloseStatus.NormalClosure, received.CloseStatusDescription, cancel)
                    .ConfigureAwait(false);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, cancel)
                .ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
