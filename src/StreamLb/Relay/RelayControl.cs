using StreamLb.Connections;

namespace StreamLb.Relay;

/// <summary>
/// The connection actor's handle on its <see cref="RelayStage"/>: close or abort it, and learn how it ended. Safe to
/// call from any thread, even before the stage has started.
/// </summary>
public sealed class RelayControl
{
    private readonly object _gate = new();

    // The started stage's way to stop (safe from any thread); until then, whether a stop was asked and with what.
    private Action<Exception?>? _stop;
    private bool _stopAsked;
    private Exception? _abortWith;

    /// <summary>Completes when the relay stopped, whether it ended cleanly or not; never faults.</summary>
    public StageOutcome<RelayResult> Completion { get; } = new();

    /// <summary>Closes both sides in an orderly way (FIN, TLS close_notify); the relay then completes.</summary>
    public void Close() => Stop(null);

    /// <summary>Aborts both sides with <paramref name="reason"/>; the relay then completes with it.</summary>
    public void Abort(Exception reason) => Stop(reason);

    private void Stop(Exception? abortWith)
    {
        if (Completion.Task.IsCompleted)
            return;
        Action<Exception?>? stop;
        lock (_gate)
        {
            stop = _stop;
            if (stop is null)
            {
                // Before the stage started: it stops as soon as it does, as first asked.
                if (!_stopAsked)
                    (_stopAsked, _abortWith) = (true, abortWith);
                return;
            }
        }

        stop(abortWith);
    }

    internal void Started(Action<Exception?> stop)
    {
        Exception? abortWith;
        lock (_gate)
        {
            _stop = stop;
            if (!_stopAsked)
                return;
            abortWith = _abortWith;
        }

        stop(abortWith);
    }

    /// <summary>The relay ended; from now on Close and Abort find nothing to stop, also if its stage never started.</summary>
    internal void Stopped(RelayResult result) => Completion.TrySetResult(result);
}
