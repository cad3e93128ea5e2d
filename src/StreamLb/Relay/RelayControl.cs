namespace StreamLb.Relay;

/// <summary>
/// The connection actor's handle on its <see cref="RelayStage"/>: close or abort it, and learn how it ended. Safe to
/// call from any thread, even before the stage has started.
/// </summary>
public sealed class RelayControl
{
    private readonly TaskCompletionSource<Action<Exception?>> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<RelayResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the relay stopped, whether it ended cleanly or not; never faults.</summary>
    public Task<RelayResult> Completion => _completion.Task;

    /// <summary>Closes both sides in an orderly way (FIN, TLS close_notify); the relay then completes.</summary>
    public void Close() => Stop(null);

    /// <summary>Aborts both sides with <paramref name="reason"/>; the relay then completes with it.</summary>
    public void Abort(Exception reason) => Stop(reason);

    private void Stop(Exception? abortWith)
    {
        if (!_completion.Task.IsCompleted)
            _started.Task.ContinueWith(t => t.Result(abortWith), TaskContinuationOptions.ExecuteSynchronously);
    }

    internal void Started(Action<Exception?> stop) => _started.TrySetResult(stop);

    internal void Stopped(RelayResult result)
    {
        // A stage that never started still answers Close and Abort: there is nothing left to stop.
        _started.TrySetResult(_ => { });
        _completion.TrySetResult(result);
    }
}
