using System.Globalization;
using DotNetty.Common;

namespace StreamLb.Clustering;

/// <summary>
/// Process-wide settings of the library under Akka.Remote's TCP transport (DotNetty), made before the first clustered
/// actor system starts. Both are about the cluster's tail latency: a pick asked across the cluster is a few remote
/// messages, and anything that stalls one of them for a millisecond shows in the pick's p99.
/// </summary>
public static class RemoteTransportDefaults
{
    /// <summary>DotNetty reads this (as an environment variable) when its pooled allocator is first used.</summary>
    public const string CacheTrimIntervalVariable = "io.netty.allocator.cacheTrimInterval";

    /// <summary>
    /// - Leak detection off. DotNetty samples one buffer in 128 and records the stack trace of its allocation, to
    ///   report buffers never released; formatting that trace took 0.5–2 ms on the transport's thread each time.
    /// - A thread's buffer cache is not trimmed every 8,192 allocations: the trim ran so rarely that its code was still
    ///   being compiled on the transport's thread when it did. The cache stays bounded by its sizes per thread.
    /// An explicit setting in the environment wins over the second.
    /// </summary>
    public static void Apply()
    {
        ResourceLeakDetector.Level = ResourceLeakDetector.DetectionLevel.Disabled;
        if (Environment.GetEnvironmentVariable(CacheTrimIntervalVariable) is null)
            Environment.SetEnvironmentVariable(CacheTrimIntervalVariable, int.MaxValue.ToString(CultureInfo.InvariantCulture));
    }
}
