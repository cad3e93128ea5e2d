using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using StreamLb.Connections;
using Xunit;

namespace StreamLb.Tests.Connections;

public sealed class ConnectionTimeoutSpecs : TestKit
{
    [Fact]
    public void A_due_timeout_calls_back_once_with_itself()
    {
        var probe = CreateTestProbe();
        var timeout = ConnectionTimeout.Start(Sys.Scheduler, TimeSpan.FromMilliseconds(20), due => probe.Ref.Tell(due));

        Assert.Same(timeout, probe.ExpectMsg<ConnectionTimeout>());
        timeout.Cancel(); // after it was due: nothing left to cancel
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_cancelled_timeout_never_calls_back()
    {
        var probe = CreateTestProbe();
        var cancelled = ConnectionTimeout.Start(Sys.Scheduler, TimeSpan.FromMilliseconds(100), due => probe.Ref.Tell(due));
        cancelled.Cancel();
        var later = ConnectionTimeout.Start(Sys.Scheduler, TimeSpan.FromMilliseconds(300), due => probe.Ref.Tell(due));

        // The later one arrives, and only it: the cancelled one, due first, would have come before.
        Assert.Same(later, probe.ExpectMsg<ConnectionTimeout>());
    }

    [Fact]
    public void A_cancelled_timeout_no_longer_keeps_what_its_callback_reaches()
    {
        // An hour away: the scheduler holds its entry all along; only the cancel can let go of the connection.
        var (timeout, connection) = StartFor(TimeSpan.FromHours(1));
        timeout.Cancel();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(connection.IsAlive, "the cancelled timeout's scheduler entry still reaches its callback's target");
    }

    // Not inlined: no local of the test method may keep the connection alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (ConnectionTimeout, WeakReference) StartFor(TimeSpan after)
    {
        var connection = new object();
        var timeout = ConnectionTimeout.Start(Sys.Scheduler, after, _ => GC.KeepAlive(connection));
        return (timeout, new WeakReference(connection));
    }
}
