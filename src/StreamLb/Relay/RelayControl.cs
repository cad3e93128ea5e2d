using System.Net;
using Akka.IO;
using Akka.Streams.Dsl;

namespace StreamLb.Relay;

/// <summary>
/// The connection actor's handle on its <see cref="RelayStage"/>: attach an upstream connection once a server is
/// picked, abort, and learn how the relay ended. Safe to call from any thread, even before the stage has started.
/// </summary>
public sealed class RelayControl
{
    private readonly TaskCompletionSource<Callbacks> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<RelayResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the relay stopped, whether it ended cleanly or not; never faults.</summary>
    public Task<RelayResult> Completion => _completion.Task;

    /// <summary>
    /// Materializes <paramref name="upstream"/> (a flow whose value is its local address once connected, such as
    /// <see cref="Sockets.SocketStage.Outgoing"/>) inside the relay and completes with that address; faults if connecting failed, after which another server may be tried with the same relay.
    /// No client byte is sent upstream before the connection is established, so nothing is lost on a retry.
    /// </summary>
    public Task<EndPoint> Connect(Flow<ByteString, ByteString, Task<EndPoint>> upstream)
    {
        var attempt = new ConnectAttempt(upstream, new TaskCompletionSource<EndPoint>(TaskCreationOptions.RunContinuationsAsynchronously));
        _started.Task.ContinueWith(t => t.Result.Connect(attempt), TaskContinuationOptions.ExecuteSynchronously);
        return attempt.Connected.Task;
    }

    /// <summary>Closes both sides in an orderly way (FIN, TLS close_notify); the relay then completes.</summary>
    public void Close() => Stop(null);

    /// <summary>Aborts both sides with <paramref name="reason"/>; the relay then completes with it.</summary>
    public void Abort(Exception reason) => Stop(reason);

    private void Stop(Exception? abortWith)
    {
        if (!_completion.Task.IsCompleted)
            _started.Task.ContinueWith(t => t.Result.Stop(abortWith), TaskContinuationOptions.ExecuteSynchronously);
    }

    internal void Started(Action<ConnectAttempt> connect, Action<Exception?> stop) => _started.TrySetResult(new Callbacks(connect, stop));

    internal void Stopped(RelayResult result)
    {
        // A stage that never started still answers Connect and Abort: with the reason it stopped.
        _started.TrySetResult(new Callbacks(a => a.Connected.TrySetException(result.Error ?? new IOException("the relay stopped")), _ => { }));
        _completion.TrySetResult(result);
    }

    internal sealed record ConnectAttempt(Flow<ByteString, ByteString, Task<EndPoint>> Upstream, TaskCompletionSource<EndPoint> Connected);

    private sealed record Callbacks(Action<ConnectAttempt> Connect, Action<Exception?> Stop);
}
