using System.Diagnostics;

namespace StreamLb.Balancing;

/// <summary>Who answered a connection's pick.</summary>
public enum PickAnswer
{
    /// <summary>The balancer, asked (locally, or across the cluster).</summary>
    Balancer,

    /// <summary>The node's ledger, with the pick the balancer had made ahead for this node (<see cref="NextPick"/>).</summary>
    MadeAhead,

    /// <summary>The fallback picker, from the last snapshot: the balancer did not answer in time.</summary>
    Fallback,
}

/// <summary>
/// How long this node's connections waited for their pick: from the ask leaving the connection actor to the answer
/// arriving, all picks together and those the balancer answered on its own (the ask's full way, local or across the
/// cluster). Histograms with four buckets per doubling from 10 µs, so a percentile is exact to within 19%. Recorded
/// from many connection actors at once, read by the admin API.
/// </summary>
public sealed class PickLatency
{
    private readonly Histogram _all = new();
    private readonly Histogram _asked = new();
    private long _fallbacks;
    private long _madeAhead;

    /// <summary>Records one pick that took since <paramref name="askedAt"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Record(long askedAt, PickAnswer answer)
    {
        var ticks = Stopwatch.GetTimestamp() - askedAt;
        _all.Add(ticks);
        switch (answer)
        {
            case PickAnswer.Balancer:
                _asked.Add(ticks);
                break;
            case PickAnswer.MadeAhead:
                Interlocked.Increment(ref _madeAhead);
                break;
            case PickAnswer.Fallback:
                Interlocked.Increment(ref _fallbacks);
                break;
        }
    }

    /// <summary>Starts counting afresh (picks recorded meanwhile may land on either side).</summary>
    public void Reset()
    {
        _all.Reset();
        _asked.Reset();
        Interlocked.Exchange(ref _fallbacks, 0);
        Interlocked.Exchange(ref _madeAhead, 0);
    }

    public PickLatencySnapshot Snapshot() =>
        new(_all.Snapshot(), Interlocked.Read(ref _fallbacks), Interlocked.Read(ref _madeAhead), _asked.Snapshot());

    private sealed class Histogram
    {
        private const double SmallestMicroseconds = 10;
        private const int BucketsPerDoubling = 4;
        private const int Buckets = 24 * BucketsPerDoubling; // 10 µs · 2^24 ≈ 168 s

        private readonly long[] _counts = new long[Buckets + 1];
        private long _maxTicks;

        public void Add(long ticks)
        {
            Interlocked.Increment(ref _counts[BucketOf(ticks)]);
            var max = Interlocked.Read(ref _maxTicks);
            while (ticks > max)
            {
                var seen = Interlocked.CompareExchange(ref _maxTicks, ticks, max);
                if (seen == max)
                    break;
                max = seen;
            }
        }

        public void Reset()
        {
            for (var i = 0; i < _counts.Length; i++)
                Interlocked.Exchange(ref _counts[i], 0);
            Interlocked.Exchange(ref _maxTicks, 0);
        }

        public LatencyPercentiles Snapshot()
        {
            var counts = new long[_counts.Length];
            for (var i = 0; i < counts.Length; i++)
                counts[i] = Volatile.Read(ref _counts[i]);
            var total = counts.Sum();
            var max = Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _maxTicks));
            return new LatencyPercentiles(total,
                Percentile(counts, total, 0.50, max), Percentile(counts, total, 0.90, max), Percentile(counts, total, 0.99, max), max);
        }

        private static int BucketOf(long ticks)
        {
            var microseconds = Stopwatch.GetElapsedTime(0, ticks).TotalMicroseconds;
            if (microseconds <= SmallestMicroseconds)
                return 0;
            var bucket = (int)Math.Ceiling(Math.Log2(microseconds / SmallestMicroseconds) * BucketsPerDoubling);
            return Math.Min(bucket, Buckets);
        }

        private static TimeSpan UpperBound(int bucket) =>
            TimeSpan.FromMicroseconds(SmallestMicroseconds * Math.Pow(2, (double)bucket / BucketsPerDoubling));

        /// <summary>The upper bound of the bucket holding the given rank, never above the largest time seen.</summary>
        private static TimeSpan Percentile(long[] counts, long total, double fraction, TimeSpan max)
        {
            if (total == 0)
                return TimeSpan.Zero;
            var rank = (long)Math.Ceiling(total * fraction);
            long seen = 0;
            for (var bucket = 0; bucket < counts.Length; bucket++)
            {
                seen += counts[bucket];
                if (seen >= rank)
                    return UpperBound(bucket) < max ? UpperBound(bucket) : max;
            }

            return max;
        }
    }
}

/// <summary>How many picks, and their latency.</summary>
public sealed record LatencyPercentiles(long Count, TimeSpan P50, TimeSpan P90, TimeSpan P99, TimeSpan Max)
{
    public static readonly LatencyPercentiles None = new(0, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
}

/// <summary>
/// This node's picks so far: all of them, how many the fallback picker and a pick made ahead answered, and those the
/// balancer answered when asked.
/// </summary>
public sealed record PickLatencySnapshot(LatencyPercentiles All, long Fallbacks, long MadeAhead, LatencyPercentiles Asked);
