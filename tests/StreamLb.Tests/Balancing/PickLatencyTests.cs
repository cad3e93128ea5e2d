using System.Diagnostics;
using StreamLb.Balancing;
using Xunit;

namespace StreamLb.Tests.Balancing;

public sealed class PickLatencyTests
{
    private static long AgoMilliseconds(double ms) => Stopwatch.GetTimestamp() - (long)(ms * Stopwatch.Frequency / 1000);

    [Fact]
    public void Percentiles_fall_within_a_bucket_of_the_recorded_times_and_never_above_the_largest()
    {
        var latency = new PickLatency();
        // 98 picks near 1 ms, one at 5 ms and one at 50 ms: p50 ≈ 1 ms, p99 ≈ 5 ms, max ≥ 50 ms.
        for (var i = 0; i < 98; i++)
            latency.Record(AgoMilliseconds(1), PickAnswer.Balancer);
        latency.Record(AgoMilliseconds(5), PickAnswer.Balancer);
        latency.Record(AgoMilliseconds(50), PickAnswer.Fallback);

        var snapshot = latency.Snapshot();

        Assert.Equal(100, snapshot.All.Count);
        Assert.Equal(1, snapshot.Fallbacks);
        // Each within its bucket (at most 19% above), plus slack for a busy machine between the two clock reads.
        var all = snapshot.All;
        Assert.InRange(all.P50.TotalMilliseconds, 1, 1.2 + 0.5);
        Assert.InRange(all.P99.TotalMilliseconds, 5, 5 * 1.2 + 0.5);
        Assert.InRange(all.Max.TotalMilliseconds, 50, 1000);
        Assert.True(all.P90 <= all.P99 && all.P99 <= all.Max);
    }

    [Fact]
    public void Picks_made_ahead_are_counted_apart_and_only_asked_picks_make_the_asked_percentiles()
    {
        var latency = new PickLatency();
        // 90 asked picks near 2 ms, 10 made ahead near 0.05 ms.
        for (var i = 0; i < 90; i++)
            latency.Record(AgoMilliseconds(2), PickAnswer.Balancer);
        for (var i = 0; i < 10; i++)
            latency.Record(AgoMilliseconds(0.05), PickAnswer.MadeAhead);

        var snapshot = latency.Snapshot();

        Assert.Equal(100, snapshot.All.Count);
        Assert.Equal(10, snapshot.MadeAhead);
        Assert.Equal(0, snapshot.Fallbacks);
        Assert.Equal(90, snapshot.Asked.Count);
        // Every asked pick took 2 ms or more; of all picks, the fastest tenth took 0.05 ms.
        Assert.InRange(snapshot.Asked.P50.TotalMilliseconds, 2, 2 * 1.2 + 0.5);
        Assert.InRange(snapshot.Asked.Max.TotalMilliseconds, 2, 1000);

        latency.Reset();
        Assert.Equal(new PickLatencySnapshot(LatencyPercentiles.None, 0, 0, LatencyPercentiles.None), latency.Snapshot());
    }

    [Fact]
    public void Nothing_recorded_reads_as_zeros()
    {
        var snapshot = new PickLatency().Snapshot();
        Assert.Equal(new PickLatencySnapshot(LatencyPercentiles.None, 0, 0, LatencyPercentiles.None), snapshot);
    }
}
