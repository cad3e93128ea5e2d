namespace StreamLb.Relay;

/// <summary>Nothing was read or written in either direction for <c>proxy_timeout</c>.</summary>
public sealed class IdleTimeoutException(TimeSpan timeout)
    : TimeoutException($"no bytes in either direction for {timeout.TotalSeconds:0.###}s (proxy_timeout)");
