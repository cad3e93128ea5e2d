namespace StreamLb.Configuration;

/// <summary>
/// <c>health_check [interval=T] [fails=N] [passes=N];</c> with <c>health_check_timeout T;</c>: active TCP connect
/// probes of every server of an upstream. Defaults are nginx Plus's.
/// </summary>
public sealed record HealthCheckConfig
{
    /// <summary>Time between the end of one probe of a server and the start of the next.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Consecutive failed probes that make a healthy server unhealthy.</summary>
    public int Fails { get; init; } = 1;

    /// <summary>Consecutive passed probes that make an unhealthy server healthy again.</summary>
    public int Passes { get; init; } = 1;

    /// <summary>Longest wait for one probe's connect, name resolution included.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>health_check</c> directive; not part of what makes two checks the same.</summary>
    public SourceLocation Location { get; init; }

    /// <summary>Whether both check the same way, wherever they are written.</summary>
    public bool SameSettings(HealthCheckConfig other) => this with { Location = default } == other with { Location = default };
}
