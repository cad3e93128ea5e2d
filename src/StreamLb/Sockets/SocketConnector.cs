using System.Net;
using System.Net.Sockets;

namespace StreamLb.Sockets;

/// <summary>
/// The handle on a <see cref="SocketStage"/> that connects when told: <see cref="Connect"/> once a server is known,
/// and again with another one if a connect failed (the stage carries on meanwhile, asking for nothing), or
/// <see cref="Attach"/> an accepted socket. Safe to call from any thread, even before the stage has started.
/// </summary>
public sealed class SocketConnector
{
    private readonly TaskCompletionSource<Action<ConnectAttempt>> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<EndPoint> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The local address once the socket is connected; faults if the stage stopped before that.</summary>
    public Task<EndPoint> Connected => _connected.Task;

    /// <summary>
    /// Connects to <paramref name="remote"/> and completes with the local address; faults if the connect failed or took
    /// longer than <paramref name="timeout"/> (zero: no limit), or if the stage stopped or is connected already.
    /// </summary>
    public Task<EndPoint> Connect(EndPoint remote, TimeSpan timeout)
    {
        var attempt = new ConnectAttempt(remote, timeout, new TaskCompletionSource<EndPoint>(TaskCreationOptions.RunContinuationsAsynchronously));
        _started.Task.ContinueWith(t => t.Result(attempt), TaskContinuationOptions.ExecuteSynchronously);
        return attempt.Done.Task;
    }

    /// <summary>Hands the stage a socket a listener accepted: the stage owns it from now on.</summary>
    public void Attach(Socket accepted)
    {
        var attempt = new ConnectAttempt(null, TimeSpan.Zero, new TaskCompletionSource<EndPoint>(TaskCreationOptions.RunContinuationsAsynchronously), accepted);
        _started.Task.ContinueWith(t => t.Result(attempt), TaskContinuationOptions.ExecuteSynchronously);
    }

    internal void Started(Action<ConnectAttempt> connect) => _started.TrySetResult(connect);

    internal void SetConnected(EndPoint local) => _connected.TrySetResult(local);

    internal void Stopped(Exception reason)
    {
        _connected.TrySetException(reason);
        _started.TrySetResult(attempt =>
        {
            attempt.Accepted?.Dispose();
            attempt.Done.TrySetException(reason);
        });
    }

    /// <summary>Where to connect, or the socket that is connected already.</summary>
    internal sealed record ConnectAttempt(EndPoint? Remote, TimeSpan Timeout, TaskCompletionSource<EndPoint> Done, Socket? Accepted = null);
}
