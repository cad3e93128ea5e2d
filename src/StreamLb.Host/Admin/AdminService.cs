using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StreamLb.Host.Admin;

/// <summary>Runs the admin API for the program's lifetime, once the node is started.</summary>
public sealed class AdminService(RunningNode running, AdminOptions options, ILogger log) : IHostedService
{
    private AdminApi? _api;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var node = running.Node ?? throw new InvalidOperationException("the node has not started");
        _api = await AdminApi.StartAsync(node, options).ConfigureAwait(false);
        log.LogInformation("admin API listening on http://{EndPoint}/api/stream/upstreams{Auth}", _api.EndPoint,
            options.Token is null ? "" : " (changes need the bearer token)");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_api is not null)
            await _api.DisposeAsync().ConfigureAwait(false);
    }
}
