namespace StreamLb.Balancing;

/// <summary>
/// The active-check verdict of one server: unhealthy after <c>fails</c> consecutive failed probes, healthy again
/// after <c>passes</c> consecutive passed ones (nginx Plus's and HAProxy's rise/fall). A server starts healthy.
/// </summary>
public sealed class HealthTracker
{
    private readonly int _fails;
    private readonly int _passes;
    private readonly TimeProvider _time;

    public HealthTracker(int fails, int passes, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fails, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        _fails = fails;
        _passes = passes;
        _time = time;
    }

    public bool Healthy { get; private set; } = true;

    /// <summary>Probes recorded so far.</summary>
    public long Checks { get; private set; }

    public int ConsecutiveFails { get; private set; }

    public int ConsecutivePasses { get; private set; }

    /// <summary>Why the latest failed probe failed; kept after later passes, so a status can show it.</summary>
    public string? LastError { get; private set; }

    /// <summary>When the latest probe was recorded; null before the first.</summary>
    public DateTimeOffset? LastChecked { get; private set; }

    /// <summary>Counts one probe; true when it turned the verdict (healthy ↔ unhealthy).</summary>
    public bool Record(bool passed, string? error = null)
    {
        Checks++;
        LastChecked = _time.GetUtcNow();
        if (passed)
        {
            ConsecutiveFails = 0;
            ConsecutivePasses++;
        }
        else
        {
            ConsecutivePasses = 0;
            ConsecutiveFails++;
            LastError = error ?? "failed";
        }

        var healthy = Healthy ? ConsecutiveFails < _fails : ConsecutivePasses >= _passes;
        if (healthy == Healthy)
            return false;
        Healthy = healthy;
        return true;
    }
}
