using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;

namespace StreamLb.Relay;

/// <summary>
/// The dispatcher the connection graphs run on. A graph is woken by its sockets: the thread that sees a socket
/// become readable or writable (with inline socket completions, the socket engine's own thread) runs the graph's
/// mailbox right there, instead of handing it to another thread first. A relay then reads, decrypts and forwards on
/// one thread, as an event loop does, and a busy node does not pay a thread switch per message. Work scheduled while
/// such a mailbox already runs on the thread waits until it is done, then runs there too (see CallerRunsExecutor).
/// </summary>
public static class RelayDispatcher
{
    public const string Id = "streamlb.relay-dispatcher";

    /// <summary>The executor's configurator, as HOCON names it (Akka.Remote's dispatcher uses it too, in a cluster).</summary>
    public const string Executor = $"{nameof(StreamLb)}.{nameof(Relay)}.{nameof(CallerRunsExecutorConfigurator)}, {nameof(StreamLb)}";

    /// <summary>
    /// Puts <paramref name="props"/> on this dispatcher when the system has it: for the actors on a connection's way
    /// (the listener, the connection actor, the ledger, the balancer), so a message between them runs on the thread
    /// that sent it instead of waiting for a pool thread to wake: a connection is accepted, handshaken, picked for,
    /// relayed and ended on the socket engine's thread, as in an event loop. None of them blocks.
    /// </summary>
    public static Props On(ActorSystem system, Props props) =>
        system.Dispatchers.HasDispatcher(Id) ? props.WithDispatcher(Id) : props;

    public const string Hocon = $$"""
        {{Id}} {
          type = Dispatcher
          executor = "{{Executor}}"
          throughput = 64
        }
        """;
}

/// <summary>Makes <see cref="CallerRunsExecutor"/>s for <see cref="RelayDispatcher"/>; named in its HOCON.</summary>
public sealed class CallerRunsExecutorConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    public override ExecutorService Produce(string id) => new CallerRunsExecutor(id);
}

/// <summary>
/// Runs work on the calling thread. Work scheduled while the thread runs work of this kind (a graph's callback that
/// tells its connection actor, say) is not nested: it runs on the same thread right after, as an event loop's local
/// queue does, up to <see cref="MaxRunsPerCall"/> items per call; what is left goes to the thread pool, so one caller
/// is never held for long.
/// </summary>
public sealed class CallerRunsExecutor(string id) : ExecutorService(id)
{
    public const int MaxRunsPerCall = 32;

    // Non-null while this thread runs work of this kind: where work scheduled meanwhile waits for its turn.
    [ThreadStatic]
    private static Queue<IRunnable>? t_later;

    [ThreadStatic]
    private static Queue<IRunnable>? t_spare;

    public override void Execute(IRunnable run)
    {
        if (t_later is { } later)
        {
            later.Enqueue(run);
            return;
        }

        var queue = t_spare ?? new Queue<IRunnable>();
        t_spare = null;
        t_later = queue;
        try
        {
            run.Run();
            for (var ran = 1; ran < MaxRunsPerCall && queue.TryDequeue(out var next); ran++)
                next.Run();
        }
        finally
        {
            t_later = null;
            while (queue.TryDequeue(out var left))
                ThreadPool.UnsafeQueueUserWorkItem(left, preferLocal: false);
            t_spare = queue;
        }
    }

    public override void Shutdown()
    {
    }
}
