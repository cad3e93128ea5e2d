using Akka.Dispatch;
using StreamLb.Relay;
using Xunit;

namespace StreamLb.Tests.Relay;

public sealed class CallerRunsExecutorTests
{
    private sealed class Work(Action action) : IRunnable
    {
        public void Run() => action();

        public void Execute() => Run();
    }

    [Fact]
    public async Task Work_runs_on_the_calling_thread_and_work_scheduled_meanwhile_never_inside_it()
    {
        var executor = new CallerRunsExecutor("test");
        var caller = Environment.CurrentManagedThreadId;
        int? outerThread = null;
        var outerRunning = false;
        var nestedRanInsideOuter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        executor.Execute(new Work(() =>
        {
            outerThread = Environment.CurrentManagedThreadId;
            Volatile.Write(ref outerRunning, true);
            executor.Execute(new Work(() =>
                nestedRanInsideOuter.SetResult(Volatile.Read(ref outerRunning) && Environment.CurrentManagedThreadId == outerThread)));
            Volatile.Write(ref outerRunning, false);
        }));

        Assert.Equal(caller, outerThread);
        Assert.False(await nestedRanInsideOuter.Task.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
