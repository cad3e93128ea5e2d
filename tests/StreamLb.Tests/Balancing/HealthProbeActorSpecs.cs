using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

public sealed class HealthProbeActorSpecs : TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static readonly HealthCheckConfig Check = new()
    {
        Interval = TimeSpan.FromMilliseconds(150),
        Timeout = TimeSpan.FromMilliseconds(300),
    };

    private readonly List<Socket> _sockets = [];

    // The test actor is the probe's parent, so it receives every result.
    private IActorRef StartProbe(int port, HealthCheckConfig? check = null) =>
        ChildActorOf(HealthProbeActor.Props($"127.0.0.1:{port}", check ?? Check));

    private Socket Listen(int port = 0, int backlog = 16)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(listener);
        // The port of a listener closed a moment ago must be bound again at once.
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(backlog);
        return listener;
    }

    private static int PortOf(Socket listener) => ((IPEndPoint)listener.LocalEndPoint!).Port;

    // Backlog 0 queues one connection; with a filler in the queue the kernel drops further SYNs unanswered.
    private Socket ListenWithFullBacklog(int port = 0)
    {
        var listener = Listen(port, backlog: 0);
        var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets.Add(filler);
        filler.Connect(listener.LocalEndPoint!);
        return listener;
    }

    private ProbeResult NextResult(bool passed) => FishForMessage<ProbeResult>(r => r.Passed == passed, Patience);

    [Fact]
    public void Reports_a_pass_at_start_and_again_every_interval()
    {
        var port = PortOf(Listen());

        // Every probe must pass: a timeout a busy machine cannot reach.
        StartProbe(port, Check with { Timeout = Patience });

        Assert.Equal(new ProbeResult($"127.0.0.1:{port}", true, null), ExpectMsg<ProbeResult>(Patience));
        Assert.Equal(new ProbeResult($"127.0.0.1:{port}", true, null), ExpectMsg<ProbeResult>(Patience));
    }

    [Fact]
    public void Reports_a_refused_connect_then_a_pass_once_the_server_listens_again()
    {
        var listener = Listen();
        var port = PortOf(listener);
        StartProbe(port);
        NextResult(passed: true);

        listener.Close();

        Assert.Equal(new ProbeResult($"127.0.0.1:{port}", false, "connection refused"), NextResult(passed: false));

        Listen(port);

        NextResult(passed: true);
    }

    [Fact]
    public void Reports_a_timeout_when_the_server_does_not_answer_then_a_pass_once_it_does()
    {
        var listener = ListenWithFullBacklog();
        var port = PortOf(listener);

        StartProbe(port);

        Assert.Equal(new ProbeResult($"127.0.0.1:{port}", false, "connect() timed out after 0.3s"), ExpectMsg<ProbeResult>(Patience));

        listener.Close();
        Listen(port);

        NextResult(passed: true);
    }

    [Fact]
    public void Stops_with_a_probe_in_flight_without_reporting_it()
    {
        var port = PortOf(ListenWithFullBacklog());
        var probe = StartProbe(port);
        ExpectMsg<ProbeResult>(Patience);
        Watch(probe);

        // The next probe starts an interval after the first ended and hangs until its timeout.
        ExpectNoMsg(Check.Interval + TimeSpan.FromMilliseconds(50));

        // The action itself waits out the abandoned probe, so the filter needs no extra time.
        EventFilter.Error().Expect(0, TimeSpan.FromMilliseconds(100), () =>
        {
            Sys.Stop(probe);
            ExpectTerminated(probe, Patience);
            ExpectNoMsg(Check.Timeout + Check.Interval);
        });
    }

    [Fact]
    public void Results_read_well_in_a_log()
    {
        Assert.Equal("probe of 10.0.0.1:80 passed", new ProbeResult("10.0.0.1:80", true, null).ToString());
        Assert.Equal("probe of 10.0.0.1:80 failed: connection refused", new ProbeResult("10.0.0.1:80", false, "connection refused").ToString());
    }

    protected override void Dispose(bool disposing)
    {
        foreach (var socket in _sockets)
            socket.Dispose();
        base.Dispose(disposing);
    }
}
