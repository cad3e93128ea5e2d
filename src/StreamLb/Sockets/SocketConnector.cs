using System.Net;
using System.Net.Sockets;
using StreamLb.Connections;

namespace StreamLb.Sockets;

/// <summary>
/// The handle on a <see cref="SocketStage"/> that connects when told: <see cref="Connect"/> once a server is known,
/// and again with another one if a connect failed (the stage carries on meanwhile, asking for nothing), or
/// <see cref="Attach"/> an accepted socket. Safe to call from any thread, even before the stage has started; every
/// attempt completes, also when the stage stops before it got to it.
/// </summary>
public sealed class SocketConnector
{
    // Attempts handed to the stage that it has not taken yet; how the started stage takes one; why it stopped, once
    // it has; the socket once connected, and who asked for its local address. Guarded by the list.
    private readonly List<ConnectAttempt> _handedOver = new(1); // mostly one attempt, taken at once
    private Action<ConnectAttempt>? _take;
    private bool _stopped;
    private Exception? _stopReason;
    private Socket? _connectedSocket;
    private TaskCompletionSource<EndPoint>? _connected;

    /// <summary>
    /// The local address once the socket is connected; faults if the stage stopped before that. Made when first asked
    /// for (a relay never asks: its local address would cost a system call per connection).
    /// </summary>
    public Task<EndPoint> Connected
    {
        get
        {
            lock (_handedOver)
            {
                if (_connected is null)
                {
                    _connected = new TaskCompletionSource<EndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
                    if (_connectedSocket is { } socket)
                        SetLocalAddress(_connected, socket);
                    else if (_stopped)
                        _connected.TrySetException(StopReason());
                }

                return _connected.Task;
            }
        }
    }

    /// <summary>
    /// Connects to <paramref name="remote"/> and completes with it; faults if the connect failed or took longer than
    /// <paramref name="timeout"/> (zero: no limit), or if the stage stopped or is connected already.
    /// </summary>
    public StageOutcome<EndPoint> Connect(EndPoint remote, TimeSpan timeout) => HandOver(new ConnectAttempt(remote, timeout));

    /// <summary>Hands the stage a socket a listener accepted: the stage owns it from now on.</summary>
    public void Attach(Socket accepted) => HandOver(new ConnectAttempt(null, TimeSpan.Zero, accepted));

    private StageOutcome<EndPoint> HandOver(ConnectAttempt attempt)
    {
        Action<ConnectAttempt>? take;
        Exception? stopped;
        lock (_handedOver)
        {
            (take, stopped) = (_take, _stopped ? StopReason() : null);
            if (stopped is null)
                _handedOver.Add(attempt);
        }

        if (stopped is not null)
            attempt.Fail(stopped);
        else
            take?.Invoke(attempt); // else the stage takes it when it starts
        return attempt.Done;
    }

    /// <summary>
    /// The stage started: <paramref name="take"/> (safe from any thread) takes every attempt handed over from now on, and
    /// those handed over before.
    /// </summary>
    internal void Started(Action<ConnectAttempt> take)
    {
        ConnectAttempt[] waiting;
        lock (_handedOver)
        {
            _take = take;
            waiting = _handedOver.Count == 0 ? [] : [.. _handedOver];
        }

        foreach (var attempt in waiting)
            take(attempt);
    }

    /// <summary>The stage takes an attempt to carry it out; false if it was failed already because the stage stopped.</summary>
    internal bool Take(ConnectAttempt attempt)
    {
        lock (_handedOver)
            return _handedOver.Remove(attempt);
    }

    internal void SetConnected(Socket socket)
    {
        lock (_handedOver)
        {
            _connectedSocket = socket;
            if (_connected is { } connected)
                SetLocalAddress(connected, socket);
        }
    }

    private static void SetLocalAddress(TaskCompletionSource<EndPoint> connected, Socket socket)
    {
        try
        {
            connected.TrySetResult(socket.LocalEndPoint!);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            connected.TrySetException(e); // asked for after the socket had closed
        }
    }

    /// <summary>
    /// The stage stopped: attempts not taken yet, and any made from now on, fail with <paramref name="reason"/>, or (none
    /// given, the usual end) with a <see cref="SocketStageStoppedException"/>, made only if something is there to fail.
    /// </summary>
    internal void Stopped(Exception? reason = null)
    {
        ConnectAttempt[] untaken;
        Exception? failWith = null;
        lock (_handedOver)
        {
            _stopped = true;
            _stopReason ??= reason;
            untaken = _handedOver.Count == 0 ? [] : [.. _handedOver];
            _handedOver.Clear();
            if (untaken.Length > 0 || _connected is { Task.IsCompleted: false })
            {
                failWith = StopReason();
                _connected?.TrySetException(failWith);
            }
        }

        foreach (var attempt in untaken)
            attempt.Fail(failWith!);
    }

    // Under the lock.
    private Exception StopReason() => _stopReason ??= new SocketStageStoppedException();

    /// <summary>Where to connect, or the socket that is connected already.</summary>
    internal sealed class ConnectAttempt(EndPoint? remote, TimeSpan timeout, Socket? accepted = null)
    {
        public EndPoint? Remote { get; } = remote;

        public TimeSpan Timeout { get; } = timeout;

        public Socket? Accepted { get; } = accepted;

        public StageOutcome<EndPoint> Done { get; } = new();

        public void Fail(Exception reason)
        {
            Accepted?.Dispose();
            Done.TrySetException(reason);
        }
    }
}
