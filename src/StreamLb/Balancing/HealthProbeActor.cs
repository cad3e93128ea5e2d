using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using StreamLb.Configuration;
using StreamLb.Connections;

namespace StreamLb.Balancing;

/// <summary>
/// Probes one server of an upstream for its balancer (the parent): a TCP connect, closed as soon as it succeeds,
/// at start and then an interval after each probe ends, so probes never overlap. Every outcome goes to the parent
/// as a <see cref="ProbeResult"/>; the balancer keeps the verdict.
/// </summary>
public sealed class HealthProbeActor : ReceiveActor, IWithTimers
{
    private readonly CancellationTokenSource _stopping = new();

    public HealthProbeActor(string address, HealthCheckConfig config)
    {
        Receive<Probe>(_ => ProbeAsync(address, config.Timeout, _stopping.Token).PipeTo(Self));
        Receive<ProbeResult>(result =>
        {
            Context.Parent.Tell(result);
            Timers.StartSingleTimer(Probe.Instance, Probe.Instance, config.Interval);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string address, HealthCheckConfig config) =>
        Akka.Actor.Props.Create(() => new HealthProbeActor(address, config));

    protected override void PreStart() => Self.Tell(Probe.Instance);

    // A probe still connecting gives up at once; its result goes to dead letters.
    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private static async Task<ProbeResult> ProbeAsync(string address, TimeSpan timeout, CancellationToken stopping)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        deadline.CancelAfter(timeout);
        try
        {
            var endpoints = UpstreamAddress.Parse(address) switch
            {
                DnsEndPoint dns => (await Dns.GetHostAddressesAsync(dns.Host, deadline.Token).ConfigureAwait(false))
                    .Select(ip => new IPEndPoint(ip, dns.Port)).ToArray(),
                var endpoint => [(IPEndPoint)endpoint],
            };
            await ConnectAnyAsync(endpoints, deadline.Token).ConfigureAwait(false);
            return new ProbeResult(address, true, null);
        }
        catch (OperationCanceledException)
        {
            return new ProbeResult(address, false, $"connect() timed out after {timeout.TotalSeconds:0.###}s");
        }
        catch (SocketException e)
        {
            return new ProbeResult(address, false, Describe(e, address));
        }
    }

    // Tries each resolved address in turn, each on a fresh socket, as a failed connect leaves its socket unusable.
    private static async Task ConnectAnyAsync(IPEndPoint[] endpoints, CancellationToken cancel)
    {
        SocketException? last = null;
        foreach (var endpoint in endpoints)
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(endpoint, cancel).ConfigureAwait(false);
                return;
            }
            catch (SocketException e)
            {
                last = e;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private static string Describe(SocketException e, string address) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => $"host not found in \"{address}\"",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.HostUnreachable => "host unreachable",
        _ => e.Message,
    };

    private sealed class Probe
    {
        public static readonly Probe Instance = new();
    }
}
