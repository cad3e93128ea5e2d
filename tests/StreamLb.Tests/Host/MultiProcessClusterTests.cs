using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using StreamLb.Tests.Integration;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Host;

/// <summary>
/// Three <c>streamlb</c> processes and three echo backend processes on loopback, started from config files and the
/// command line as a user would: wss through every node, runtime changes through any node's admin API taking effect
/// on all of them, the counts every node reports against what the backends saw, and active health checks.
/// </summary>
public sealed class MultiProcessClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Startup = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(200);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task A_cluster_of_processes_shares_admin_changes_drain_counts_and_health_across_nodes()
    {
        var cluster = await ProcessCluster.StartAsync(["a", "b", "c"], configured: 2, spare: 1, Startup);
        var clients = new List<ClientWebSocket>();
        var passed = false;
        try
        {
            Step("cluster up");
            var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
            var (echo1, echo2, echo3) = (cluster.Backends[0], cluster.Backends[1], cluster.Backends[2]);

            // 1. wss through every node echoes.
            foreach (var node in cluster.Nodes)
                await CloseAsync(await ConnectAndEcho(node, $"hello through node {node.Name}"));
            Step("1: wss echoes through every node");

            // 2. A server added through node a's admin API takes new connections through nodes b and c.
            using var added = await _http.PostAsJsonAsync(new Uri(a.Admin, "backend/servers"), new { server = echo3.Address });
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
            var echo3Id = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32();
            await EveryNodeShows(cluster, peers => peers.Count == 3 && peers[echo3.Address].State == "up", "the added server, up");
            await Patch(a, 0, new { down = true });
            await Patch(a, 1, new { down = true });
            await EveryNodeShows(cluster, peers => peers[echo1.Address].State == "down" && peers[echo2.Address].State == "down", "the first two down");
            var before = await Totals(cluster);
            await CloseAsync(await ConnectAndEcho(b, "to the added server through b"));
            await CloseAsync(await ConnectAndEcho(c, "to the added server through c"));
            var after = await Totals(cluster);
            Assert.Equal([before[0], before[1], before[2] + 2], after);
            await Patch(a, 0, new { down = false });
            await Patch(a, 1, new { down = false });
            await EveryNodeShows(cluster, peers => peers.Values.All(p => p.State == "up"), "every server up again");
            Step("2: a server added through a takes connections through b and c");

            // 3. Drain through node c: no new picks of the drained server on any node, its connections go on.
            await EveryNodeShows(cluster, peers => peers.Values.All(p => p.Active == 0), "no connection counted");
            var held = new List<ClientWebSocket>();
            while ((await echo1.StatsAsync(_http)).Active == 0)
            {
                Assert.True(held.Count < 6, $"6 connections and none on {echo1.Name} (least_conn over three idle servers)");
                held.Add(await ConnectAndEcho(cluster.Nodes[held.Count % 3], "held"));
                clients.Add(held[^1]);
            }

            var heldOnEcho1 = (await echo1.StatsAsync(_http)).Active;
            using var drained = await _http.PatchAsJsonAsync(new Uri(c.Admin, "backend/servers/0"), new { drain = true });
            Assert.Equal(HttpStatusCode.OK, drained.StatusCode);
            Assert.Equal("draining", (await drained.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
            before = await Totals(cluster);
            var fresh = new List<ClientWebSocket>();
            foreach (var node in new[] { a, b, c, a, b, c })
            {
                fresh.Add(await ConnectAndEcho(node, $"after the drain, through {node.Name}"));
                clients.Add(fresh[^1]);
            }

            after = await Totals(cluster);
            Assert.Equal(before[0], after[0]);
            Assert.Equal(before[1] + before[2] + fresh.Count, after[1] + after[2]);
            foreach (var client in held)
                await Echo(client, "still relayed while draining");
            Assert.Equal(heldOnEcho1, (await echo1.StatsAsync(_http)).Active);
            Step($"3: drained through c, {fresh.Count} new connections through every node avoid it, {held.Count} held ones go on");

            // 4. Every node reports the same counts, and they are the backends' open connections.
            await CountsAgree(cluster);
            await EveryNodeShows(cluster, peers => peers[echo1.Address].State == "draining", "the drained server draining");
            foreach (var client in fresh)
                await CloseAsync(client);
            await CountsAgree(cluster);
            await Patch(b, 0, new { drain = false });
            await EveryNodeShows(cluster, peers => peers.Values.All(p => p.State == "up"), "every server up after the drain");
            Step("4: the counts of every node agree with the backends'");

            // 5. A killed backend is taken out by the health checks on every node; started again, it is back.
            await echo2.KillAsync();
            await EveryNodeShows(cluster, peers => peers[echo2.Address] is { State: "unhealthy", Unhealthy: true }, $"{echo2.Name} unhealthy");
            Step("5: killed backend unhealthy on every node");
            foreach (var node in cluster.Nodes)
                await CloseAsync(await ConnectAndEcho(node, $"around the dead backend, through {node.Name}"));
            await echo2.RestartAsync(Startup);
            await EveryNodeShows(cluster, peers => peers[echo2.Address] is { State: "up", Unhealthy: false }, $"{echo2.Name} up again");
            for (var i = 0; (await echo2.StatsAsync(_http)).Total == 0; i++)
            {
                Assert.True(i < 6, $"6 new connections and none on the restarted {echo2.Name}");
                await CloseAsync(await ConnectAndEcho(cluster.Nodes[i % 3], "to the restarted backend"));
            }

            foreach (var client in clients)
                await CloseAsync(client);
            clients.Clear();
            await CountsAgree(cluster);
            Step($"5: {echo2.Name} restarted, up on every node and picked again");
            passed = true;
        }
        finally
        {
            foreach (var client in clients)
                client.Abort();
            if (!passed)
                output.WriteLine(cluster.Outputs);
            Step("stopping");
            await cluster.DisposeAsync();
            _http.Dispose();
            Step("stopped");
        }
    }

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:0.0}s {what}");

    private static async Task<ClientWebSocket> ConnectAndEcho(ClusterNode node, string text)
    {
        using var cancel = new CancellationTokenSource(Patience);
        var client = await WebSocketClient.ConnectAsync(node.TlsPort, cancel: cancel.Token);
        try
        {
            await Echo(client, text);
            return client;
        }
        catch
        {
            client.Abort();
            throw;
        }
    }

    /// <summary>One message there and back; once it is back the backend has counted the connection.</summary>
    private static async Task Echo(ClientWebSocket client, string text)
    {
        using var cancel = new CancellationTokenSource(Patience);
        var (echoed, type) = await client.EchoAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, cancel.Token);
        Assert.Equal(text, Encoding.UTF8.GetString(echoed));
        Assert.Equal(WebSocketMessageType.Text, type);
    }

    /// <summary>A close handshake when the connection is still open; a connection already gone is just released.</summary>
    private static async Task CloseAsync(ClientWebSocket client)
    {
        using var cancel = new CancellationTokenSource(Patience);
        try
        {
            if (client.State == WebSocketState.Open)
                await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cancel.Token);
        }
        catch (WebSocketException)
        {
            // Its backend was killed: the balancer closed it meanwhile.
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task Patch(ClusterNode node, int id, object change)
    {
        using var response = await _http.PatchAsJsonAsync(new Uri(node.Admin, $"backend/servers/{id}"), change);
        Assert.True(response.IsSuccessStatusCode, $"PATCH {id} {JsonSerializer.Serialize(change)} on node {node.Name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<long[]> Totals(ProcessCluster cluster) =>
        await Task.WhenAll(cluster.Backends.Select(async b => (await b.StatsAsync(_http)).Total));

    /// <summary><c>GET /api/stream/upstreams/backend</c> on one node: its peers by address.</summary>
    private async Task<(Dictionary<string, Peer> Peers, int Zombies)> Upstream(ClusterNode node)
    {
        var upstream = await _http.GetFromJsonAsync<JsonElement>(new Uri(node.Admin, "backend"));
        var peers = upstream.GetProperty("peers").EnumerateArray().Select(p => new Peer(
            p.GetProperty("id").GetInt32(),
            p.GetProperty("server").GetString()!,
            p.GetProperty("state").GetString()!,
            p.GetProperty("active").GetInt32(),
            p.TryGetProperty("health_checks", out var health) && health.GetProperty("unhealthy").GetBoolean()));
        return (peers.ToDictionary(p => p.Server), upstream.GetProperty("zombies").GetInt32());
    }

    /// <summary>Polls every node's admin API until <paramref name="condition"/> holds on all of them.</summary>
    private Task EveryNodeShows(ProcessCluster cluster, Func<Dictionary<string, Peer>, bool> condition, string what) =>
        Eventually(async () =>
        {
            var views = await Task.WhenAll(cluster.Nodes.Select(async n => (n.Name, (await Upstream(n)).Peers)));
            return views.All(v => condition(v.Peers)) ? null : string.Join("\n", views.Select(v => $"node {v.Name}: {Describe(v.Peers)}"));
        }, $"every node to show {what}");

    /// <summary>
    /// Polls until every node reports the same active count per server, no zombies, and those counts are the open
    /// WebSocket connections of the backends that run.
    /// </summary>
    private Task CountsAgree(ProcessCluster cluster) =>
        Eventually(async () =>
        {
            var views = await Task.WhenAll(cluster.Nodes.Select(async n => (n.Name, View: await Upstream(n))));
            var open = await Task.WhenAll(cluster.Backends.Select(async b => (b.Address, (await b.StatsAsync(_http)).Active)));
            var expected = string.Join(", ", open.OrderBy(o => o.Address).Select(o => $"{o.Address}={o.Active}"));
            var reports = views.Select(v => (v.Name, Counts: string.Join(", ", v.View.Peers.Values.OrderBy(p => p.Server).Select(p => $"{p.Server}={p.Active}")), v.View.Zombies)).ToList();
            return reports.All(r => r.Counts == expected && r.Zombies == 0)
                ? null
                : $"backends: {expected}\n" + string.Join("\n", reports.Select(r => $"node {r.Name}: {r.Counts}, zombies={r.Zombies}"));
        }, "every node's counts to equal the backends' open connections");

    /// <summary>Polls <paramref name="mismatch"/> (null once it holds) until the patience runs out, then fails with the last one.</summary>
    private async Task Eventually(Func<Task<string?>> mismatch, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var last = await mismatch();
            if (last is null)
                return;
            if (DateTime.UtcNow >= deadline)
                Assert.Fail($"waited {Patience.TotalSeconds:0}s for {what}; last seen:\n{last}");
            await Task.Delay(PollEvery);
        }
    }

    private static string Describe(Dictionary<string, Peer> peers) =>
        string.Join(", ", peers.Values.OrderBy(p => p.Id).Select(p => $"#{p.Id} {p.Server} {p.State} active={p.Active}"));

    private sealed record Peer(int Id, string Server, string State, int Active, bool Unhealthy);
}
