using StreamLb.Balancing;
using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Balancing;

public sealed class LoadBalancingPolicyTests
{
    private static ServerEntry Server(string address, int weight = 1) => new(0, new UpstreamServerConfig { Address = address, Weight = weight });

    private static ILoadBalancingPolicy Policy(string name, bool consistent = false, int seed = 42) =>
        LoadBalancingPolicy.Create(new UpstreamConfig { Name = "backend", Servers = [], Policy = name, HashConsistent = consistent }, new Random(seed));

    private static ServerEntry Pick(ILoadBalancingPolicy policy, IReadOnlyList<ServerEntry> servers, string? key = null, IReadOnlyList<ServerEntry>? candidates = null) =>
        policy.Pick(new PickRequest("c", key, servers), candidates ?? servers)!;

    private static void Load(ServerEntry server, int connections)
    {
        for (var i = 0; i < connections; i++)
            server.Add($"{server.Address}#{i}");
    }

    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        Assert.Equal(0xCBF43926u, Crc32.Of("123456789"));
    }

    [Fact]
    public void Least_conn_picks_fewest_active_per_weight()
    {
        var (a, b, c) = (Server("a", weight: 1), Server("b", weight: 3), Server("c", weight: 1));
        Load(a, 1);
        Load(b, 2);
        Load(c, 1);

        Assert.Same(b, Pick(Policy(LoadBalancingPolicies.LeastConn), [a, b, c]));
    }

    [Fact]
    public void Least_conn_alternates_between_equally_loaded_servers()
    {
        var servers = new[] { Server("a"), Server("b"), Server("c") };
        var policy = Policy(LoadBalancingPolicies.LeastConn);

        var picks = Enumerable.Range(0, 6).Select(_ => Pick(policy, servers).Address);

        Assert.Equal(["a", "b", "c", "a", "b", "c"], picks);
    }

    [Fact]
    public void Round_robin_is_smooth_like_nginx()
    {
        var servers = new[] { Server("a", weight: 5), Server("b"), Server("c") };
        var policy = Policy(LoadBalancingPolicies.RoundRobin);

        var picks = Enumerable.Range(0, 14).Select(_ => Pick(policy, servers).Address);

        Assert.Equal("aabacaaaabacaa", string.Concat(picks));
    }

    [Fact]
    public void Round_robin_skips_servers_that_are_not_candidates()
    {
        var servers = new[] { Server("a"), Server("b"), Server("c") };
        var policy = Policy(LoadBalancingPolicies.RoundRobin);

        var picks = Enumerable.Range(0, 4).Select(_ => Pick(policy, servers, candidates: [servers[0], servers[2]]).Address);

        Assert.Equal("acac", string.Concat(picks));
    }

    [Fact]
    public void Hash_sends_a_key_to_the_same_server_every_time()
    {
        var servers = new[] { Server("a"), Server("b", weight: 2), Server("c") };
        var policy = Policy(LoadBalancingPolicies.Hash);

        var first = Pick(policy, servers, "10.0.0.7");

        Assert.All(Enumerable.Range(0, 5), _ => Assert.Same(first, Pick(policy, servers, "10.0.0.7")));
        Assert.Equal(3, Enumerable.Range(0, 200).Select(i => Pick(policy, servers, $"client-{i}")).Distinct().Count());
    }

    [Fact]
    public void Consistent_hash_moves_only_the_keys_of_a_server_that_goes_away()
    {
        var servers = new[] { Server("10.0.0.1:80"), Server("10.0.0.2:80"), Server("10.0.0.3:80"), Server("10.0.0.4:80") };
        var keys = Enumerable.Range(0, 2000).Select(i => $"192.168.{i / 250}.{i % 250}").ToList();
        var before = keys.ToDictionary(k => k, k => Pick(Policy(LoadBalancingPolicies.Hash, consistent: true), servers, k));
        var gone = servers[2];
        var remaining = servers.Where(s => s != gone).ToList();

        var whenUnavailable = keys.ToDictionary(k => k, k => Pick(Policy(LoadBalancingPolicies.Hash, consistent: true), servers, k, remaining));
        var whenRemoved = keys.ToDictionary(k => k, k => Pick(Policy(LoadBalancingPolicies.Hash, consistent: true), remaining, k));

        var keysOfGone = keys.Count(k => before[k] == gone);
        Assert.InRange(keysOfGone, keys.Count / 8, keys.Count * 3 / 8);
        Assert.All(keys.Where(k => before[k] != gone), k => Assert.Same(before[k], whenUnavailable[k]));
        Assert.All(keys.Where(k => before[k] != gone), k => Assert.Same(before[k], whenRemoved[k]));
        Assert.All(keys, k => Assert.NotSame(gone, whenUnavailable[k]));
    }

    [Fact]
    public void Random_respects_weights()
    {
        var servers = new[] { Server("a", weight: 3), Server("b") };
        var policy = Policy(LoadBalancingPolicies.Random);

        var picksOfA = Enumerable.Range(0, 4000).Count(_ => Pick(policy, servers).Address == "a");

        Assert.InRange(picksOfA, 2800, 3200);
    }

    [Fact]
    public void Random_two_least_conn_prefers_the_less_loaded()
    {
        var (idle, busy) = (Server("idle"), Server("busy"));
        Load(busy, 5);
        var policy = Policy(LoadBalancingPolicies.RandomTwoLeastConn);

        Assert.All(Enumerable.Range(0, 20), _ => Assert.Same(idle, Pick(policy, [busy, idle])));
    }

    [Fact]
    public void Random_two_least_conn_spreads_over_many_servers()
    {
        var servers = Enumerable.Range(0, 4).Select(i => Server($"s{i}")).ToList();
        var policy = Policy(LoadBalancingPolicies.RandomTwoLeastConn);

        for (var i = 0; i < 40; i++)
            Pick(policy, servers).Add($"c{i}");

        Assert.All(servers, s => Assert.InRange(s.Active, 8, 12));
    }

    [Fact]
    public void Unknown_policy_is_refused_naming_the_upstream()
    {
        var error = Assert.Throws<ArgumentException>(() => Policy("fastest"));

        Assert.StartsWith("Unknown load-balancing policy \"fastest\" in upstream \"backend\".", error.Message);
    }
}
