using DotNetty.Buffers;
using StreamLb.Clustering;
using Xunit;

namespace StreamLb.Tests.Clustering;

/// <summary>What a clustered node's configuration sets up in the library under Akka.Remote's transport.</summary>
public sealed class RemoteTransportDefaultsTests
{
    [Fact]
    public void A_clustered_node_allocates_transport_buffers_without_leak_tracking()
    {
        ClusterBootstrap.ConfigFor(new ClusterOptions { Host = "127.0.0.1", Port = 0 });

        // With leak detection on, one allocation in 128 comes back wrapped to record where it was made.
        var tracked = 0;
        for (var i = 0; i < 2_000; i++)
        {
            var buffer = PooledByteBufferAllocator.Default.HeapBuffer(64);
            if (buffer.GetType().Name.Contains("LeakAware", StringComparison.Ordinal))
                tracked++;
            buffer.Release();
        }

        Assert.Equal(0, tracked);
        Assert.Equal(int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Environment.GetEnvironmentVariable(RemoteTransportDefaults.CacheTrimIntervalVariable));
    }
}
