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
            latency.Record(AgoMilliseconds(1), fromFallback: false);
        latency.Record(AgoMilliseconds(5), fromFallback: false);
        latency.Record(AgoMilliseconds(50), fromFallback: true);

        var snapshot = latency.Snapshot();

        Assert.Equal(100, snapshot.Count);
        Assert.Equal(1, snapshot.Fallbacks);
        // Each within its bucket (at most 19% above), plus slack for a busy machine between the two clock reads.
        Assert.InRange(snapshot.P50.TotalMilliseconds, 1, 1.2 + 0.5);
        Assert.InRange(snapshot.P99.TotalMilliseconds, 5, 5 * 1.2 + 0.5);
        Assert.InRange(snapshot.Max.TotalMilliseconds, 50, 1000);
        Assert.True(snapshot.P90 <= snapshot.P99 && snapshot.P99 <= snapshot.Max);
    }

    [Fact]
    public void Nothing_recorded_reads_as_zeros()
    {
        var snapshot = new PickLatency().Snapshot();
        Assert.Equal(new PickLatencySnapshot(0, 0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero), snapshot);
    }
}
