using Akka.Configuration;
using Akka.Dispatch;

namespace StreamLb.Relay;

/// <summary>
/// The dispatcher the connection graphs run on. A graph is woken by its sockets: the thread that sees a socket
/// become readable or writable (with inline socket completions, the socket engine's own thread) runs the graph's
/// mailbox right there, instead of handing it to another thread first. A relay then reads, decrypts and forwards on
/// one thread, as an event loop does, and a busy node does not pay a thread switch per message. Work scheduled while
/// such a mailbox already runs on the thread goes to the thread pool, so nothing nests.
/// </summary>
public static class RelayDispatcher
{
    public const string Id = "streamlb.relay-dispatcher";

    public const string Hocon = $$"""
        {{Id}} {
          type = Dispatcher
          executor = "{{nameof(StreamLb)}}.{{nameof(Relay)}}.{{nameof(CallerRunsExecutorConfigurator)}}, {{nameof(StreamLb)}}"
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

/// <summary>Runs work on the calling thread, unless that thread is already running work of this kind.</summary>
public sealed class CallerRunsExecutor(string id) : ExecutorService(id)
{
    [ThreadStatic]
    private static bool t_running;

    public override void Execute(IRunnable run)
    {
        if (t_running)
        {
            ThreadPool.UnsafeQueueUserWorkItem(run, preferLocal: false);
            return;
        }

        t_running = true;
        try
        {
            run.Run();
        }
        finally
        {
            t_running = false;
        }
    }

    public override void Shutdown()
    {
    }
}
