using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Implementation;
using Akka.Streams.Implementation.Fusing;
using Akka.Streams.Stage;
using Fusing = Akka.Streams.Fusing;

namespace StreamLb.Connections;

/// <summary>
/// A graph made ready once to be run many times inside host actors, as each connection of a listener runs the
/// listener's graph. Fused and with its attributes and settings worked out here, so that a run only makes the stages'
/// logics and their interpreter: the materializer would walk the graph's modules, merge its attributes, work out its
/// settings and combine its materialized value again on every run. Each stage's materialized value is read by the
/// stage (<see cref="IndexOf"/>, <see cref="Run.Value{T}"/>); the graph's own is not made.
/// </summary>
public sealed class HostedGraphTemplate
{
    private readonly GraphModule _module;
    private readonly Attributes _attributes;
    private readonly ActorMaterializerSettings _settings;
    private readonly ExtendedActorMaterializer _materializer;

    public HostedGraphTemplate(IGraph<ClosedShape, object> graph, IMaterializer materializer)
    {
        _materializer = materializer as ExtendedActorMaterializer
            ?? throw new ArgumentException($"a hosted graph needs an actor materializer, not {materializer.GetType().Name}", nameof(materializer));
        // Fused once here unless it is already: one interpreter (one module), unless it has async boundaries, whose
        // every island would run in an actor of its own.
        var fused = Fusing.Aggressive(graph);
        _module = fused.Module.SubModules is [GraphModule module]
            ? module
            : throw new ArgumentException("a hosted graph runs in one actor; this graph has async boundaries", nameof(graph));
        // As the materializer works them out for the graph's one module: its own defaults, then the graph's attributes
        // and the module's, the innermost winning.
        var settings = _materializer.Settings;
        var defaults = Attributes.CreateInputBuffer(settings.InitialInputBufferSize, settings.MaxInputBufferSize)
            .And(ActorAttributes.CreateDispatcher(settings.Dispatcher))
            .And(ActorAttributes.CreateSupervisionStrategy(settings.SupervisionDecider));
        _attributes = defaults.And(fused.Module.Attributes).And(_module.Attributes);
        _settings = _materializer.EffectiveSettings(_attributes);
    }

    /// <summary>Where <paramref name="stage"/> is in the graph, to read its materialized value from each run.</summary>
    public int IndexOf(IGraphStageWithMaterializedValue<Shape, object> stage)
    {
        var index = Array.IndexOf(_module.Assembly.Stages, stage);
        return index >= 0 ? index : throw new ArgumentException($"{stage} is not a stage of this graph", nameof(stage));
    }

    /// <summary>
    /// Makes the stages and their interpreter to run in <paramref name="host"/>, an actor that hands every message
    /// <see cref="HostedGraph.TryReceive"/> takes to it. No stage has started yet: <see cref="HostedGraph.Start"/> starts
    /// them, on the host's turn.
    /// </summary>
    public Run RunIn(IActorRef host)
    {
        if (_materializer.IsShutdown)
            throw new InvalidOperationException("the materializer has been shut down");
        var values = new Dictionary<IModule, object>(_module.Assembly.Stages.Length);
        var (connections, logics) = _module.Assembly.Materialize(_attributes, _module.MaterializedValueIds, values, NoValueSources);
        var shell = new GraphInterpreterShell(_module.Assembly, connections, logics, _module.Shape, _settings, _materializer);
        return new Run(new HostedGraph(shell, host, _settings.SyncProcessingLimit), _module.MaterializedValueIds, values);
    }

    private static void NoValueSources(IMaterializedValueSource source) =>
        throw new NotSupportedException("a hosted graph template has no stage reading the graph's materialized value");

    /// <summary>One run: its graph, and what each stage materialized.</summary>
    public readonly struct Run(HostedGraph graph, IModule[] stages, Dictionary<IModule, object> values)
    {
        public HostedGraph Graph { get; } = graph;

        /// <summary>What the stage at <paramref name="index"/> (<see cref="IndexOf"/>) materialized.</summary>
        public T Value<T>(int index) => (T)values[stages[index]];
    }
}
