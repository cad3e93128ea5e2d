namespace StreamLb.Connections;

/// <summary>
/// How one thing a stage does for its connection ends (the TLS handshake, an upstream connect, the relay), told
/// twice: as <see cref="Task"/> for anyone, whose continuations run on the thread pool, and to one observer (the
/// connection actor) right away on the stage's own thread. The actor's observer only tells the actor, so the actor
/// then runs on the thread that runs the stage (see <see cref="Relay.RelayDispatcher"/>): no thread is woken for it,
/// where a task's continuation would wake a pool thread on every connection, three times.
/// </summary>
public sealed class StageOutcome<T>
{
    // In _observer: an outcome known before it had an observer; one told to its observer.
    private static readonly Action<Task<T>> Completed = _ => { };
    private static readonly Action<Task<T>> Told = _ => { };

    private readonly TaskCompletionSource<T> _task = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action<Task<T>>? _observer;

    /// <summary>
    /// Completes (or faults) with the outcome; its continuations run on the thread pool, never on the stage's thread.
    /// </summary>
    public Task<T> Task => _task.Task;

    /// <summary>
    /// Calls <paramref name="observer"/> once with the completed <see cref="Task"/>: on the thread that completes it,
    /// inside the stage, so it must not block and must not throw; at once, on this thread, if it has completed already.
    /// One observer per outcome.
    /// </summary>
    public void WhenDone(Action<Task<T>> observer)
    {
        var previous = Interlocked.CompareExchange(ref _observer, observer, null);
        if (previous is null)
            return;
        if (previous != Completed || Interlocked.CompareExchange(ref _observer, Told, Completed) != Completed)
            throw new InvalidOperationException("an outcome has one observer");
        observer(_task.Task);
    }

    internal bool IsCompleted => _task.Task.IsCompleted;

    internal bool TrySetResult(T result)
    {
        if (!_task.TrySetResult(result))
            return false;
        Tell();
        return true;
    }

    internal bool TrySetException(Exception error)
    {
        if (!_task.TrySetException(error))
            return false;
        Tell();
        return true;
    }

    private void Tell()
    {
        var observer = Interlocked.CompareExchange(ref _observer, Completed, null);
        if (observer is null)
            return;
        _observer = Told;
        observer(_task.Task);
    }
}
