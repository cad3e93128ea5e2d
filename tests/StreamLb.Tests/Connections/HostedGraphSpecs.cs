using System.Collections.Immutable;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Implementation;
using Akka.TestKit.Xunit2;
using StreamLb.Connections;
using Xunit;

namespace StreamLb.Tests.Connections;

/// <summary>A graph run inside an actor of ours, as a connection actor runs its connection's graph.</summary>
public sealed class HostedGraphSpecs : TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    /// <summary>Runs a template's graph on its turns, as a connection actor runs its listener's, and says when every stage has stopped.</summary>
    private sealed class Host<TValues>(HostedGraphTemplate template, Func<HostedGraphTemplate.Run, TValues> values, IActorRef watcher)
        : UntypedActor
    {
        private HostedGraph? _graph;

        protected override void PreStart()
        {
            var run = template.RunIn(Self);
            _graph = run.Graph;
            watcher.Tell(new Started<TValues>(values(run), Self));
            run.Graph.Start();
            ReportIfDone();
        }

        protected override void OnReceive(object message)
        {
            if (_graph!.TryReceive(message))
                ReportIfDone();
            else
                Unhandled(message);
        }

        private void ReportIfDone()
        {
            if (_graph!.IsTerminated)
                watcher.Tell(Terminated.Instance);
        }

        protected override void PostStop()
        {
            if (_graph is { IsTerminated: false } running)
                running.Abort(new InvalidOperationException("the host stopped"));
        }
    }

    private sealed record Started<TMat>(TMat Materialized, IActorRef Host);

    private sealed class Terminated
    {
        public static readonly Terminated Instance = new();
    }

    /// <summary>Runs <paramref name="template"/> once in a host of its own; <paramref name="values"/> reads the stages' values.</summary>
    private Started<TValues> RunHosted<TValues>(HostedGraphTemplate template, Func<HostedGraphTemplate.Run, TValues> values)
    {
        Sys.ActorOf(Props.Create(() => new Host<TValues>(template, values, TestActor)));
        return ExpectMsg<Started<TValues>>(Patience);
    }

    [Fact]
    public async Task A_graph_runs_to_its_end_in_the_host_beyond_one_turn_of_events()
    {
        // Far more elements than one turn may run (the materializer's sync processing limit): the graph goes on in
        // later turns, each a message to the host.
        var count = Sys.Materializer().Settings.SyncProcessingLimit * 5;
        var sink = new SeqStage<int>();
        var template = new HostedGraphTemplate(Source.From(Enumerable.Range(1, count)).Select(i => i * 2).To(Sink.FromGraph(sink)), Sys.Materializer());
        var seqAt = template.IndexOf(sink);
        var started = RunHosted(template, run => run.Value<Task<IImmutableList<int>>>(seqAt));

        var result = await started.Materialized.WaitAsync(Patience);
        Assert.Equal(Enumerable.Range(1, count).Select(i => i * 2), result);
        ExpectMsg<Terminated>(Patience);
    }

    [Fact]
    public async Task Callbacks_from_other_threads_reach_the_stages_through_the_host()
    {
        // A queue's offers are async callbacks into its stage: each arrives as a message to the host.
        var source = new QueueSource<int>(4, OverflowStrategy.Backpressure);
        var sink = new SeqStage<int>();
        var template = new HostedGraphTemplate(Source.FromGraph(source).To(Sink.FromGraph(sink)), Sys.Materializer());
        var (queueAt, seqAt) = (template.IndexOf(source), template.IndexOf(sink));
        var started = RunHosted(template,
            run => (run.Value<ISourceQueueWithComplete<int>>(queueAt), run.Value<Task<IImmutableList<int>>>(seqAt)));
        var (queue, seq) = started.Materialized;

        for (var i = 1; i <= 20; i++)
            Assert.Equal(QueueOfferResult.Enqueued.Instance, await Task.Run(() => queue.OfferAsync(i)).WaitAsync(Patience));
        queue.Complete();

        Assert.Equal(Enumerable.Range(1, 20), await seq.WaitAsync(Patience));
        ExpectMsg<Terminated>(Patience);
    }

    [Fact]
    public async Task Stopping_the_host_stops_every_stage_still_running()
    {
        var sink = new SeqStage<int>();
        var template = new HostedGraphTemplate(Source.Never<int>().To(Sink.FromGraph(sink)), Sys.Materializer());
        var seqAt = template.IndexOf(sink);
        var started = RunHosted(template, run => run.Value<Task<IImmutableList<int>>>(seqAt));
        var ended = started.Materialized;
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.False(ended.IsCompleted);

        Sys.Stop(started.Host);

        // The stage ran its end (PostStop) as its host stopped: its result completes, as a failure.
        await Assert.ThrowsAnyAsync<Exception>(() => ended.WaitAsync(Patience));
    }

    [Fact]
    public async Task A_template_runs_again_and_again_each_run_with_stages_of_its_own()
    {
        var source = new QueueSource<int>(4, OverflowStrategy.Backpressure);
        var sink = new SeqStage<int>();
        var template = new HostedGraphTemplate(Source.FromGraph(source).Select(i => i * 10).To(Sink.FromGraph(sink)), Sys.Materializer());
        var (queueAt, seqAt) = (template.IndexOf(source), template.IndexOf(sink));

        Func<HostedGraphTemplate.Run, (ISourceQueueWithComplete<int> Queue, Task<IImmutableList<int>> Seq)> values =
            run => (run.Value<ISourceQueueWithComplete<int>>(queueAt), run.Value<Task<IImmutableList<int>>>(seqAt));
        var runs = Enumerable.Range(1, 3).Select(_ => RunHosted(template, values).Materialized).ToList();

        // Each run has its own queue and its own result: what one run is offered no other sees.
        for (var r = 0; r < runs.Count; r++)
        {
            for (var i = 1; i <= 5; i++)
                Assert.Equal(QueueOfferResult.Enqueued.Instance, await runs[r].Queue.OfferAsync(r * 100 + i).WaitAsync(Patience));
            runs[r].Queue.Complete();
        }

        for (var r = 0; r < runs.Count; r++)
            Assert.Equal(Enumerable.Range(1, 5).Select(i => (r * 100 + i) * 10), await runs[r].Seq.WaitAsync(Patience));
        for (var r = 0; r < runs.Count; r++)
            ExpectMsg<Terminated>(Patience);
    }

    [Fact]
    public void A_template_knows_only_its_own_stages()
    {
        var template = new HostedGraphTemplate(Source.Single(1).To(Sink.Ignore<int>()), Sys.Materializer());

        Assert.Throws<ArgumentException>(() => template.IndexOf(new SeqStage<int>()));
    }

    [Fact]
    public void A_graph_with_an_async_boundary_is_refused_it_would_run_in_actors_of_its_own()
    {
        var graph = Source.Single(1).Async().Select(i => i + 1).To(Sink.Ignore<int>());

        var error = Assert.ThrowsAny<Exception>(() => new HostedGraphTemplate(graph, Sys.Materializer()));
        Assert.Contains("graph", error.Message);
    }
}
