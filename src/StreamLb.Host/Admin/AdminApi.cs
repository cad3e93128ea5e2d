using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Event;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using StreamLb.Balancing;
using StreamLb.Hosting;

namespace StreamLb.Host.Admin;

/// <summary>
/// The admin HTTP API, shaped like nginx Plus's <c>/api/…/stream/upstreams</c>: read the upstreams, and add, drain,
/// take down, bring up, reweigh and remove servers at runtime. Every request is one ask to the node's balancers.
/// </summary>
public sealed class AdminApi : IAsyncDisposable
{
    private const string UpstreamsPath = "/api/stream/upstreams";
    private const string PicksPath = "/api/stream/picks";
    private const string ConnectionsPath = "/api/stream/connections";

    private readonly WebApplication _app;
    private readonly StreamLbNode _node;
    private readonly AdminOptions _options;
    private readonly byte[]? _tokenHash;
    private readonly ILoggingAdapter _log;

    private AdminApi(WebApplication app, StreamLbNode node, AdminOptions options)
    {
        _app = app;
        _node = node;
        _options = options;
        _tokenHash = string.IsNullOrEmpty(options.Token) ? null : Hash(options.Token);
        _log = Logging.GetLogger(node.System, "admin");
    }

    /// <summary>The address the API listens on, with the port the system picked when the options said 0.</summary>
    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    /// <exception cref="InvalidOperationException">The endpoint is not a loopback address and no token is set.</exception>
    public static async Task<AdminApi> StartAsync(StreamLbNode node, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Token) && !IPAddress.IsLoopback(options.EndPoint.Address))
            throw new InvalidOperationException(
                $"the admin API on {options.EndPoint} needs a token: it is not a loopback address, so changes to the upstreams must be authenticated " +
                "(set a token, or listen on 127.0.0.1 or [::1])");

        // Only the options configure the API: no appsettings or environment may add endpoints to it. An empty builder
        // also has no appsettings source, which would watch the working folder for changes.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Listen(options.EndPoint);
        });
        var app = builder.Build();
        var api = new AdminApi(app, node, options);
        api.MapRoutes();
        await app.StartAsync().ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        api.EndPoint = new IPEndPoint(options.EndPoint.Address, new Uri(address).Port);
        api._log.Info("admin API listening on http://{0}{1}", api.EndPoint, api._tokenHash is null ? " (changes without a token)" : "");
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private void MapRoutes()
    {
        _app.Use(HandleErrors);
        _app.Use(Authorize);
        var upstreams = _app.MapGroup(UpstreamsPath);
        upstreams.MapGet("/", GetAll);
        upstreams.MapGet("/{name}", GetOne);
        upstreams.MapPost("/{name}/servers", Add);
        upstreams.MapPatch("/{name}/servers/{id}", Update);
        upstreams.MapDelete("/{name}/servers/{id}", Remove);
        _app.MapGet(PicksPath, () => Results.Json(AdminJson.ToJson(_node.PickLatency.Snapshot()), AdminJsonContext.Relaxed.PicksJson));
        _app.MapGet(ConnectionsPath, () =>
        {
            var limit = _node.Limit;
            return Results.Json(new ConnectionsJson(limit.Accepted, limit.Open, limit.Max, limit.FileLimit), AdminJsonContext.Relaxed.ConnectionsJson);
        });
        // Like nginx Plus's DELETE on statistics: counting starts afresh.
        _app.MapDelete(PicksPath, () =>
        {
            _node.PickLatency.Reset();
            return Results.NoContent();
        });
    }

    private async Task<IResult> GetAll(CancellationToken cancel)
    {
        var snapshots = await Task.WhenAll(_node.Config.Upstreams.Select(u => Snapshot(u.Name, cancel))).ConfigureAwait(false);
        return Results.Json(snapshots.ToDictionary(s => s.Upstream, AdminJson.ToJson), AdminJsonContext.Relaxed.DictionaryStringUpstreamJson);
    }

    private async Task<IResult> GetOne(string name, CancellationToken cancel) =>
        Results.Json(AdminJson.ToJson(await Snapshot(KnownUpstream(name), cancel).ConfigureAwait(false)), AdminJsonContext.Relaxed.UpstreamJson);

    private async Task<IResult> Add(string name, HttpContext context, CancellationToken cancel)
    {
        var add = await AdminJson.ReadAddServer(KnownUpstream(name), context.Request, cancel).ConfigureAwait(false);
        var server = await Change(add, cancel).ConfigureAwait(false);
        context.Response.Headers.Location = $"{UpstreamsPath}/{Uri.EscapeDataString(name)}/servers/{server.Id}";
        return Results.Json(AdminJson.ToJson(server), AdminJsonContext.Relaxed.PeerJson, statusCode: StatusCodes.Status201Created);
    }

    private async Task<IResult> Update(string name, string id, HttpRequest request, CancellationToken cancel)
    {
        var update = await AdminJson.ReadUpdateServer(KnownUpstream(name), id, request, cancel).ConfigureAwait(false);
        return Results.Json(AdminJson.ToJson(await Change(update, cancel).ConfigureAwait(false)), AdminJsonContext.Relaxed.PeerJson);
    }

    private async Task<IResult> Remove(string name, string id, CancellationToken cancel)
    {
        await Apply(new RemoveServer(KnownUpstream(name), id), cancel).ConfigureAwait(false);
        return Results.NoContent();
    }

    private string KnownUpstream(string name) => _node.Config.FindUpstream(name) is not null ? name : throw AdminError.UpstreamNotFound(name);

    private Task<UpstreamSnapshot> Snapshot(string upstream, CancellationToken cancel) =>
        Ask<UpstreamSnapshot>(new GetUpstreamSnapshot(upstream), "", cancel);

    /// <summary>Asks for a change to a server that stays: its new snapshot.</summary>
    private async Task<ServerSnapshot> Change(IBalancerMessage change, CancellationToken cancel) =>
        await Apply(change, cancel).ConfigureAwait(false) is ServerChanged changed
            ? changed.Server
            : throw AdminError.Rejected(new ServerChangeRejected(ServerChangeError.NotFound, "the server was removed meanwhile"));

    /// <summary>Asks for a change: <see cref="ServerChanged"/> or <see cref="ServerRemoved"/>; a rejection becomes its error.</summary>
    private async Task<object> Apply(IBalancerMessage change, CancellationToken cancel)
    {
        var answer = await Ask<object>(change, "; the change may still be applied", cancel).ConfigureAwait(false);
        if (answer is ServerChangeRejected rejected)
            throw AdminError.Rejected(rejected);
        if (answer is not (ServerChanged or ServerRemoved))
            throw new InvalidOperationException($"unexpected answer to {change}: {answer}");
        _log.Info("admin: {0} -> {1}", change, answer);
        return answer;
    }

    private async Task<T> Ask<T>(IBalancerMessage message, string timeoutNote, CancellationToken cancel)
    {
        try
        {
            return await _node.Balancers.Ask<T>(message, _options.AskTimeout, cancel).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            throw AdminError.Unavailable($"the balancer of upstream \"{message.Upstream}\" did not answer within {_options.AskTimeout.TotalSeconds:0.###}s{timeoutNote}");
        }
    }

    private async Task HandleErrors(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (AdminError error) when (!context.Response.HasStarted)
        {
            await WriteError(context, error).ConfigureAwait(false);
        }
        catch (BadHttpRequestException bad) when (!context.Response.HasStarted)
        {
            await WriteError(context, new AdminError(bad.StatusCode, "InvalidRequest", bad.Message)).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            _log.Error(e, "admin: {0} {1} failed", context.Request.Method, context.Request.Path);
            await WriteError(context, new AdminError(StatusCodes.Status500InternalServerError, "InternalError", e.Message)).ConfigureAwait(false);
        }
    }

    private async Task Authorize(HttpContext context, RequestDelegate next)
    {
        var method = context.Request.Method;
        if (_tokenHash is null || HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HasToken(context.Request))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        await WriteError(context, AdminError.Unauthorized()).ConfigureAwait(false);
    }

    private bool HasToken(HttpRequest request)
    {
        const string scheme = "Bearer ";
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        // Hashing first makes the comparison constant-time in the token's length too.
        return CryptographicOperations.FixedTimeEquals(Hash(header[scheme.Length..].Trim()), _tokenHash);
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static Task WriteError(HttpContext context, AdminError error) =>
        Results.Json(error.ToJson(), AdminJsonContext.Relaxed.ErrorJson, statusCode: error.Status).ExecuteAsync(context);
}
