using System.Runtime.InteropServices;
using Akka.Actor;

namespace StreamLb.Listening;

/// <summary>
/// How many client connections a node holds at once, shared by its listeners. Each holds two file descriptors (its
/// socket and its upstream's), and a process that runs out of them does not only fail its next accept: the runtime
/// cannot start a thread then, and ends the process with every connection in it. So, as HAProxy derives its maxconn
/// from the open-file limit, the node keeps to what the limit allows after what it holds for itself; at the limit its
/// listeners stop taking connections (they wait in the system's backlog) until one ends.
/// </summary>
public sealed partial class ConnectionLimit
{
    /// <summary>Descriptors kept for the node beyond those open when it starts: threads, health checks, the cluster, the admin API.</summary>
    public const int Spare = 256;

    private const int RLimitNoFile = 7;

    private readonly Lock _gate = new();
    private readonly List<(IActorRef Listener, object Resume)> _waiting = [];
    private int _open;
    private int _waitingCount; // _waiting.Count, readable without the lock on every connection's end
    private long _accepted;
    private TaskCompletionSource? _noneOpen;

    public ConnectionLimit(int max, long? fileLimit = null)
    {
        Max = Math.Max(1, max);
        FileLimit = fileLimit;
    }

    /// <summary>
    /// No limit of its own: where the open-file limit cannot be read. A new one each time, since each counts its own
    /// connections (one per node).
    /// </summary>
    public static ConnectionLimit None => new(int.MaxValue);

    /// <summary>The most connections at once.</summary>
    public int Max { get; }

    /// <summary>The open-file limit <see cref="Max"/> was worked out from, if it was.</summary>
    public long? FileLimit { get; }

    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections accepted since the node started.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    public bool IsFull => Volatile.Read(ref _open) >= Max;

    /// <summary>
    /// From this process's open-file limit (Linux; <see cref="None"/> elsewhere): two descriptors per connection, after
    /// those open now and <see cref="Spare"/> more. The .NET runtime raises the soft limit to the hard one as it starts.
    /// </summary>
    public static ConnectionLimit FromOpenFileLimit()
    {
        if (!OperatingSystem.IsLinux() || GetRLimit(RLimitNoFile, out var limit) != 0 || limit.Current >= int.MaxValue)
            return None;
        var inUse = Directory.GetFiles("/proc/self/fd").Length;
        return new ConnectionLimit(((int)limit.Current - inUse - Spare) / 2, (long)limit.Current);
    }

    /// <summary>A connection was accepted.</summary>
    public void Opened()
    {
        Interlocked.Increment(ref _open);
        Interlocked.Increment(ref _accepted);
    }

    /// <summary>This limit, or <paramref name="max"/> when that is lower (an operator's own cap).</summary>
    public ConnectionLimit AtMost(int? max) => max is { } lower && lower < Max ? new ConnectionLimit(lower, FileLimit) : this;

    /// <summary>A connection ended (its sockets closed): listeners waiting for room are told.</summary>
    public void Closed()
    {
        var open = Interlocked.Decrement(ref _open);
        if (open < Max && Volatile.Read(ref _waitingCount) > 0)
            WakeWaiting();
        if (open == 0 && Volatile.Read(ref _noneOpen) is { } noneOpen)
            noneOpen.TrySetResult();
    }

    /// <summary>Completes once no connection is open (at once if none is): a stopping node waits on it.</summary>
    public Task WhenNoneOpen()
    {
        TaskCompletionSource noneOpen;
        lock (_gate)
        {
            if (_noneOpen is not { Task.IsCompleted: false })
                Volatile.Write(ref _noneOpen, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            noneOpen = _noneOpen!;
        }

        // The last connection may have ended before the task was there to be told.
        if (Open == 0)
            noneOpen.TrySetResult();
        return noneOpen.Task;
    }

    /// <summary>Tells <paramref name="listener"/> <paramref name="resume"/> once there is room (at once if there is by now).</summary>
    public void WhenRoom(IActorRef listener, object resume)
    {
        lock (_gate)
        {
            _waiting.Add((listener, resume));
            Volatile.Write(ref _waitingCount, _waiting.Count);
        }

        // A connection may have ended between the listener's look and its registration.
        if (!IsFull)
            WakeWaiting();
    }

    private void WakeWaiting()
    {
        (IActorRef Listener, object Resume)[] waiting;
        lock (_gate)
        {
            waiting = [.. _waiting];
            _waiting.Clear();
            Volatile.Write(ref _waitingCount, 0);
        }

        foreach (var (listener, resume) in waiting)
            listener.Tell(resume);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRLimit(int resource, out RLimit limit);
}
