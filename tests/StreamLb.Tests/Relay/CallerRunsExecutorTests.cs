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
    public void Work_runs_on_the_calling_thread_and_work_scheduled_meanwhile_right_after_it_never_inside_it()
    {
        var executor = new CallerRunsExecutor("test");
        var caller = Environment.CurrentManagedThreadId;
        var order = new List<string>();

        executor.Execute(new Work(() =>
        {
            order.Add($"outer starts on {Environment.CurrentManagedThreadId}");
            executor.Execute(new Work(() => order.Add($"nested on {Environment.CurrentManagedThreadId}")));
            order.Add("outer ends");
        }));

        Assert.Equal([$"outer starts on {caller}", "outer ends", $"nested on {caller}"], order);
    }

    [Fact]
    public async Task Work_that_keeps_scheduling_more_holds_the_caller_for_a_bounded_number_of_runs_only()
    {
        var executor = new CallerRunsExecutor("test");
        var caller = Environment.CurrentManagedThreadId;
        var onCaller = 0;
        var returned = false;
        var later = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Work? again = null;
        again = new Work(() =>
        {
            if (Volatile.Read(ref returned) || Environment.CurrentManagedThreadId != caller)
            {
                later.TrySetResult(); // handed to the pool: it still runs
                return;
            }

            onCaller++;
            executor.Execute(again!);
        });

        executor.Execute(again);
        Volatile.Write(ref returned, true);

        Assert.Equal(CallerRunsExecutor.MaxRunsPerCall, onCaller);
        await later.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
