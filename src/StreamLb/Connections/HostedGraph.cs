using Akka.Actor;
using Akka.Streams.Implementation.Fusing;

namespace StreamLb.Connections;

/// <summary>
/// A connection's stream graph, run inside its connection actor rather than in an actor of its own: the graph's
/// interpreter is made for the connection actor (<see cref="HostedGraphTemplate"/>), which passes it the graph's
/// events (its stages' callbacks arrive as messages to that actor) and the interpreter runs on the actor's turn. A
/// connection is then one actor, made and stopped once, instead of two; the stages and their order of events are
/// those of any materialized graph.
/// </summary>
public sealed class HostedGraph
{
    // Tells the host that events queued during its last turn are left to run (the turn's limit was reached).
    private static readonly object RunQueued = new();

    private readonly IActorRef _host;
    private readonly int _eventLimit;
    private readonly GraphInterpreterShell _shell;

    // Events the graph raised for itself while it ran (a stage's callback called from inside the interpreter): run
    // after the event that raised them, in the same turn, as Akka's own interpreter actor does. Made on first use.
    private Queue<object>? _queued;

    /// <summary>
    /// The graph <paramref name="shell"/> interprets, to run in <paramref name="host"/>, an actor that hands every
    /// message <see cref="TryReceive"/> takes to it (made by <see cref="HostedGraphTemplate.RunIn"/>).
    /// </summary>
    internal HostedGraph(GraphInterpreterShell shell, IActorRef host, int eventLimit)
    {
        _shell = shell;
        _host = host;
        _eventLimit = eventLimit;
    }

    /// <summary>True once every stage of the graph has stopped.</summary>
    public bool IsTerminated => _shell.IsTerminated;

    /// <summary>Starts the stages (once), on the host's turn.</summary>
    public void Start()
    {
        if (_shell.IsInitialized)
            throw new InvalidOperationException("the graph has started already");
        try
        {
            var left = _shell.Init(_host, null, Enqueue, _eventLimit);
            RunQueuedEvents(left);
        }
        catch (Exception e)
        {
            // As the interpreter actor does: a graph that fails to start is aborted, which stops every stage.
            _shell.TryAbort(e);
        }
    }

    /// <summary>Runs <paramref name="message"/> if it is one of this graph's events; false for anything else.</summary>
    public bool TryReceive(object message)
    {
        if (message is ActorGraphInterpreter.IBoundaryEvent boundary && ReferenceEquals(boundary.Shell, _shell))
        {
            RunQueuedEvents(Run(boundary, _eventLimit));
            return true;
        }

        if (ReferenceEquals(message, RunQueued))
        {
            RunQueuedEvents(_eventLimit);
            return true;
        }

        return false;
    }

    /// <summary>Stops every stage still running, with <paramref name="reason"/>; nothing when all have stopped.</summary>
    public void Abort(Exception reason)
    {
        if (!IsTerminated)
            _shell.TryAbort(reason);
    }

    private int Run(ActorGraphInterpreter.IBoundaryEvent boundary, int limit)
    {
        if (_shell.IsTerminated)
            return limit;
        try
        {
            return _shell.Receive(boundary, limit);
        }
        catch (Exception e)
        {
            _shell.TryAbort(e);
            return limit;
        }
    }

    private void RunQueuedEvents(int limit)
    {
        if (_queued is not { } queued)
            return;
        while (queued.Count != 0 && limit > 0 && !_shell.IsTerminated)
        {
            var next = queued.Dequeue();
            limit = next is ActorGraphInterpreter.IBoundaryEvent boundary ? Run(boundary, limit) : limit;
        }

        if (queued.Count != 0 && !_shell.IsTerminated)
            _host.Tell(RunQueued);
    }

    private void Enqueue(object message) => (_queued ??= new Queue<object>()).Enqueue(message);
}
