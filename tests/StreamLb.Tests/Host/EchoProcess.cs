using System.Net.Http.Json;

namespace StreamLb.Tests.Host;

/// <summary>
/// The echo backend as its own process (<c>StreamLb.EchoBackend.dll 127.0.0.1:PORT NAME</c>) on a fixed loopback
/// port, so it can be killed and started again where the balancers expect it. Its <c>/stats</c> say what it saw.
/// </summary>
internal sealed class EchoProcess : IAsyncDisposable
{
    private NodeProcess? _process;

    private EchoProcess(int port, string name)
    {
        Port = port;
        Name = name;
    }

    public int Port { get; }

    public string Name { get; }

    /// <summary>The <c>host:port</c> the upstream config names it by.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Every line the current process printed.</summary>
    public string Output => _process?.Output ?? "";

    public static async Task<EchoProcess> StartAsync(int port, string name, TimeSpan timeout)
    {
        var echo = new EchoProcess(port, name);
        try
        {
            await echo.RestartAsync(timeout);
            return echo;
        }
        catch
        {
            await echo.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts the backend (again) on its port and waits until it listens. A port just freed by a kill may still be
    /// held for a moment: a start that fails is tried again until <paramref name="timeout"/>.
    /// </summary>
    public async Task RestartAsync(TimeSpan timeout)
    {
        if (_process is { HasExited: false })
            throw new InvalidOperationException($"{Name} is still running");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process is not null)
                await _process.DisposeAsync();
            _process = NodeProcess.StartProgram("StreamLb.EchoBackend.dll", AppContext.BaseDirectory, Address, Name);
            try
            {
                await _process.WaitForLine($"listening on ws://{Address}", deadline - DateTime.UtcNow);
                return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                // Exited before listening (the port not free yet): start it again.
            }
        }
    }

    public async Task KillAsync()
    {
        if (_process is not null)
            await _process.Kill(TimeSpan.FromSeconds(15));
    }

    public async Task<EchoStats> StatsAsync(HttpClient http) =>
        await http.GetFromJsonAsync<EchoStats>($"http://{Address}/stats") ?? throw new InvalidOperationException($"{Name}: empty /stats");

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
            await _process.DisposeAsync();
    }
}

/// <summary>An echo backend's <c>/stats</c>: WebSocket connections open now and accepted since it started.</summary>
internal sealed record EchoStats(string Name, int Active, long Total);
