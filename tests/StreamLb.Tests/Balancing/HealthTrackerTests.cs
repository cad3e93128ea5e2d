using StreamLb.Balancing;
using Xunit;

namespace StreamLb.Tests.Balancing;

public sealed class HealthTrackerTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void Starts_healthy_and_unchecked()
    {
        var tracker = new HealthTracker(1, 1, _time);

        Assert.True(tracker.Healthy);
        Assert.Equal(0, tracker.Checks);
        Assert.Null(tracker.LastError);
        Assert.Null(tracker.LastChecked);
    }

    [Fact]
    public void Turns_unhealthy_after_fails_consecutive_failures_only()
    {
        var tracker = new HealthTracker(3, 1, _time);

        Assert.False(tracker.Record(false, "connection refused"));
        Assert.False(tracker.Record(false, "connection refused"));
        Assert.False(tracker.Record(true));
        Assert.Equal(0, tracker.ConsecutiveFails);
        Assert.False(tracker.Record(false, "a"));
        Assert.False(tracker.Record(false, "b"));
        Assert.True(tracker.Healthy);

        Assert.True(tracker.Record(false, "connect() timed out after 1s"));

        Assert.False(tracker.Healthy);
        Assert.Equal(3, tracker.ConsecutiveFails);
        Assert.Equal(6, tracker.Checks);
        Assert.Equal("connect() timed out after 1s", tracker.LastError);
        Assert.False(tracker.Record(false, "again"));
        Assert.Equal(4, tracker.ConsecutiveFails);
    }

    [Fact]
    public void Turns_healthy_again_after_passes_consecutive_successes_only()
    {
        var tracker = new HealthTracker(1, 2, _time);
        Assert.True(tracker.Record(false, "connection refused"));

        Assert.False(tracker.Record(true));
        Assert.False(tracker.Record(false, "connection refused"));
        Assert.False(tracker.Record(true));
        Assert.False(tracker.Healthy);
        Assert.Equal(1, tracker.ConsecutivePasses);

        Assert.True(tracker.Record(true));

        Assert.True(tracker.Healthy);
        Assert.Equal(0, tracker.ConsecutiveFails);
        Assert.Equal("connection refused", tracker.LastError);
        Assert.False(tracker.Record(true));
    }

    [Fact]
    public void Remembers_when_it_last_checked()
    {
        var tracker = new HealthTracker(1, 1, _time);
        tracker.Record(true);
        _time.Advance(TimeSpan.FromSeconds(5));

        tracker.Record(true);

        Assert.Equal(_time.GetUtcNow(), tracker.LastChecked);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 0)]
    public void Needs_at_least_one_probe_each_way(int fails, int passes)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HealthTracker(fails, passes, _time));
    }
}
