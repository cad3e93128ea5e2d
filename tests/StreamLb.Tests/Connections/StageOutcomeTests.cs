using System.Net;
using StreamLb.Connections;
using StreamLb.Relay;
using StreamLb.Sockets;
using Xunit;

namespace StreamLb.Tests.Connections;

public sealed class StageOutcomeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task The_observer_is_told_on_the_completing_thread_before_it_returns_and_the_task_continues_elsewhere()
    {
        var outcome = new StageOutcome<int>();
        int? toldOn = null;
        var toldResult = 0;
        outcome.WhenDone(done => (toldOn, toldResult) = (Environment.CurrentManagedThreadId, done.Result));
        var awaiterOn = outcome.Task.ContinueWith(_ => Environment.CurrentManagedThreadId, TaskContinuationOptions.ExecuteSynchronously);
        var set = false;
        var completer = new Thread(() => set = outcome.TrySetResult(7));

        completer.Start();
        completer.Join();

        Assert.True(set);
        Assert.Equal(completer.ManagedThreadId, toldOn);
        Assert.Equal(7, toldResult);
        Assert.NotEqual(completer.ManagedThreadId, await awaiterOn.WaitAsync(Patience));
        Assert.False(outcome.TrySetResult(8));
    }

    [Fact]
    public void An_observer_that_comes_after_the_outcome_is_told_at_once_and_a_failure_arrives_as_a_faulted_task()
    {
        var outcome = new StageOutcome<int>();
        outcome.TrySetException(new IOException("gone"));
        Task<int>? told = null;

        outcome.WhenDone(done => told = done);

        Assert.NotNull(told);
        Assert.Equal("gone", Assert.IsType<IOException>(told.Exception!.InnerException).Message);
        Assert.Throws<InvalidOperationException>(() => outcome.WhenDone(_ => { }));
    }

    [Fact]
    public void A_relay_asked_to_stop_before_its_stage_started_stops_as_first_asked_once_it_starts()
    {
        var control = new RelayControl();
        var asked = new List<Exception?>();

        control.Close();
        control.Abort(new TimeoutException("late"));
        control.Started(asked.Add);
        control.Abort(new IOException("after the start"));

        Assert.Collection(asked, Assert.Null, e => Assert.IsType<IOException>(e));
        control.Stopped(new RelayResult(1, 2, null));
        control.Close(); // a stopped relay has nothing to stop
        Assert.Equal(2, asked.Count);
        Assert.True(control.Completion.Task.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_connector_hands_attempts_made_before_the_start_to_the_stage_when_it_starts_and_fails_those_after_a_stop()
    {
        var connector = new SocketConnector();
        var taken = new List<SocketConnector.ConnectAttempt>();
        var early = connector.Connect(new IPEndPoint(IPAddress.Loopback, 1), TimeSpan.Zero);

        connector.Started(taken.Add);
        var late = connector.Connect(new IPEndPoint(IPAddress.Loopback, 2), TimeSpan.Zero);

        Assert.Equal([1, 2], taken.Select(a => ((IPEndPoint)a.Remote!).Port));
        Assert.Same(early, taken[0].Done);
        connector.Stopped(new SocketStageStoppedException());
        await Assert.ThrowsAsync<SocketStageStoppedException>(() => late.Task.WaitAsync(Patience));
        var afterStop = connector.Connect(new IPEndPoint(IPAddress.Loopback, 3), TimeSpan.Zero);
        await Assert.ThrowsAsync<SocketStageStoppedException>(() => afterStop.Task.WaitAsync(Patience));
        Assert.Equal(2, taken.Count);
    }
}
