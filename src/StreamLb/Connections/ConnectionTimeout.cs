using Akka.Actor;
using Akka.Streams;

namespace StreamLb.Connections;

/// <summary>
/// One timeout of a connection (its handshake, its pick, its upstream connect, its idle relay) that lets go of the
/// connection as soon as it is cancelled. Akka's scheduler keeps a cancelled entry until its wheel comes round to it
/// (up to ~5 s), and the entries of <c>IWithTimers</c> and <c>TimerGraphStageLogic</c> reach the actor or the whole
/// stream graph: under a load of short connections every connection of the last seconds stayed reachable, was
/// promoted to the old generations and made each collection long. This entry reaches only itself once cancelled.
/// </summary>
public sealed class ConnectionTimeout
{
    private Action<ConnectionTimeout>? _onDue;
    private ICancelable? _entry;

    private ConnectionTimeout(Action<ConnectionTimeout> onDue) => _onDue = onDue;

    /// <summary>
    /// Calls <paramref name="onDue"/> with the timeout, on the scheduler's thread, once <paramref name="after"/> has
    /// passed, unless cancelled first. The callee tells a due timeout from one it has replaced by identity.
    /// </summary>
    public static ConnectionTimeout Start(IScheduler scheduler, TimeSpan after, Action<ConnectionTimeout> onDue)
    {
        var timeout = new ConnectionTimeout(onDue);
        timeout._entry = scheduler.Advanced.ScheduleOnceCancelable(after, timeout.Run);
        return timeout;
    }

    /// <summary>The same for a stage, whose callback is an async callback of the stage.</summary>
    public static ConnectionTimeout Start(IMaterializer materializer, TimeSpan after, Action<ConnectionTimeout> onDue)
    {
        var timeout = new ConnectionTimeout(onDue);
        timeout._entry = materializer.ScheduleOnce(after, timeout.Run);
        return timeout;
    }

    /// <summary>Drops the callback at once, and the scheduler's entry when its wheel comes round; idempotent.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _onDue, null) is not null)
            _entry?.Cancel();
    }

    private void Run() => Interlocked.Exchange(ref _onDue, null)?.Invoke(this);
}
