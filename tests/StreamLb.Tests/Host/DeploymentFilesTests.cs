using StreamLb.Configuration;
using StreamLb.Host;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace StreamLb.Tests.Host;

/// <summary>docker-compose.yml and the cluster configs cannot be run here; they are checked as far as they can be.</summary>
public sealed class DeploymentFilesTests
{
    private static readonly string Root = ProgramTests.RepositoryRoot();

    [Fact]
    public void Docker_compose_runs_three_clustered_nodes_seeded_from_node_a_and_two_echo_backends()
    {
        var yaml = new YamlStream();
        using (var reader = File.OpenText(Path.Combine(Root, "docker-compose.yml")))
            yaml.Load(reader);
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
        var names = services.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToList();
        Assert.Equal(["node-a", "node-b", "node-c", "echo-1", "echo-2"], names);

        foreach (var node in new[] { "node-a", "node-b", "node-c" })
        {
            var service = (YamlMappingNode)services[node];
            var args = ((YamlSequenceNode)service["command"]).Children.Select(c => ((YamlScalarNode)c).Value!).ToArray();
            var parsed = CommandLine.Parse(args, out var error);
            Assert.True(parsed is not null, $"{node}: {error}");
            Assert.Equal(node, parsed.ClusterHost);
            Assert.Equal(["node-a:4053"], parsed.Seeds);
            Assert.Equal("/app/cluster-config/docker/streamlb.conf", parsed.ConfigFile);
            // The merged anchor gives every node the image, the token its non-loopback admin API needs, and the backends.
            Assert.Contains(service.Children.Keys, k => ((YamlScalarNode)k).Value == "<<");
        }

        // docker stops a node with SIGTERM and kills it after the grace period: it must cover the node's own stop (its
        // connections' time, closing those left, leaving the cluster).
        var grace = ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["x-node"])["stop_grace_period"]).Value!;
        Assert.True(TimeValue.TryParse(grace, out var gracePeriod), grace);
        Assert.True(gracePeriod >= CommandLine.Parse(["run"], out _)!.ShutdownTimeout + TimeSpan.FromSeconds(10), grace);

        var docker = ConfigLoader.Load(Path.Combine(Root, "cluster-config", "docker", "streamlb.conf"));
        Assert.True(docker.IsValid, string.Join("\n", docker.Errors));
        Assert.Equal(["echo-1:8080", "echo-2:8080"], docker.Config!.Upstreams[0].Servers.Select(s => s.Address));
    }

    [Fact]
    public void The_local_cluster_configs_load_and_share_one_upstream_definition()
    {
        var configs = new[] { "a", "b", "c" }.Select(n => ConfigLoader.Load(Path.Combine(Root, "cluster-config", $"node-{n}.conf"))).ToList();

        Assert.All(configs, c => Assert.True(c.IsValid, string.Join("\n", c.Errors)));
        Assert.Equal([8443, 8444, 8445], configs.Select(c => c.Config!.Servers[0].Listens[0].Port));
        Assert.All(configs, c => Assert.Equal(configs[0].Config!.Upstreams, c.Config!.Upstreams, UpstreamComparer.Instance));
    }

    private sealed class UpstreamComparer : IEqualityComparer<UpstreamConfig>
    {
        public static readonly UpstreamComparer Instance = new();

        public bool Equals(UpstreamConfig? x, UpstreamConfig? y) =>
            x is not null && y is not null && x.Name == y.Name && x.Policy == y.Policy && x.Servers.SequenceEqual(y.Servers);

        public int GetHashCode(UpstreamConfig obj) => obj.Name.GetHashCode(StringComparison.Ordinal);
    }
}
