using StreamLb.EchoBackend;
using StreamLb.Tests.Integration;
using Xunit;

namespace StreamLb.Tests.Clustering;

/// <summary>Each test gets a fresh three-node cluster in front of two echo backends, least_conn.</summary>
public abstract class ThreeNodeClusterSpec : IAsyncLifetime
{
    protected EchoServer[] Backends { get; private set; } = [];

    internal ClusterHarness Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Backends = await NodeHarness.StartEchoBackends(2);
        Cluster = await ClusterHarness.StartAsync(3, TestConfigs.Tls(Backends));
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        foreach (var backend in Backends)
            await backend.DisposeAsync();
    }
}
