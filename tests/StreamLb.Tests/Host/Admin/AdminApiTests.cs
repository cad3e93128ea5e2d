using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Akka.TestKit.Xunit2;
using StreamLb.EchoBackend;
using StreamLb.Host.Admin;
using StreamLb.Hosting;
using StreamLb.Tests.Integration;
using Xunit;
using Xunit.Abstractions;

namespace StreamLb.Tests.Host.Admin;

/// <summary>The admin API over real HTTP against a running node with two echo backends, and wss clients through it.</summary>
public sealed class AdminApiTests(ITestOutputHelper output) : TestKit(NodeHocon.Default, output), IAsyncLifetime
{
    private const string Backend = "/api/stream/upstreams/backend";
    private const string Token = "s3cret-admin-token";

    private readonly List<EchoServer> _backends = [];
    private readonly List<AdminApi> _apis = [];
    private readonly List<HttpClient> _clients = [];
    private NodeHarness _node = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _backends.AddRange(await NodeHarness.StartEchoBackends(2));
        _node = await NodeHarness.StartAsync(this, TestConfigs.Tls(_backends));
        _http = await StartApi(token: null);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
            client.Dispose();
        foreach (var api in _apis)
            await api.DisposeAsync();
        foreach (var backend in _backends)
            await backend.DisposeAsync();
    }

    [Fact]
    public async Task Get_lists_every_upstream_with_its_peers_and_the_open_connections()
    {
        var (status, body) = await Send(HttpMethod.Get, "/api/stream/upstreams");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($"{{\"backend\":{TwoPeersUp}}}", body);

        var client = await WebSocketClient.ConnectAsync(_node.Port());
        await client.EchoAsync("hello"u8.ToArray(), WebSocketMessageType.Text);
        await AwaitAssertAsync(async () =>
        {
            var peers = await Peers();
            Assert.Equal([0, 1], peers.Select(p => p.GetProperty("id").GetInt32()));
            Assert.All(peers, p => Assert.Equal("up", p.GetProperty("state").GetString()));
            Assert.Equal([0, 1], peers.Select(p => p.GetProperty("active").GetInt32()).Order());
        }, NodeHarness.Patience);

        await client.CloseAsync();
        await AwaitAssertAsync(async () => Assert.All(await Peers(), p => Assert.Equal(0, p.GetProperty("active").GetInt32())), NodeHarness.Patience);
    }

    [Fact]
    public async Task Picks_counts_each_connection_pick_with_its_latency_until_reset()
    {
        var (_, before) = await Send(HttpMethod.Get, "/api/stream/picks");
        Assert.Equal("{\"picks\":0,\"fallbacks\":0,\"made_ahead\":0,\"p50_ms\":0,\"p90_ms\":0,\"p99_ms\":0,\"max_ms\":0,"
            + "\"asked\":{\"picks\":0,\"p50_ms\":0,\"p90_ms\":0,\"p99_ms\":0,\"max_ms\":0}}", before);

        for (var i = 0; i < 3; i++)
        {
            var client = await WebSocketClient.ConnectAsync(_node.Port());
            await client.EchoAsync("pick"u8.ToArray(), WebSocketMessageType.Text);
            await client.CloseAsync();
        }

        var (status, body) = await Send(HttpMethod.Get, "/api/stream/picks");
        Assert.Equal(HttpStatusCode.OK, status);
        var picks = JsonDocument.Parse(body).RootElement;
        Assert.Equal(3, picks.GetProperty("picks").GetInt64());
        Assert.Equal(0, picks.GetProperty("fallbacks").GetInt64());
        var p50 = picks.GetProperty("p50_ms").GetDouble();
        var p99 = picks.GetProperty("p99_ms").GetDouble();
        var max = picks.GetProperty("max_ms").GetDouble();
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= max, body);

        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, "/api/stream/picks")).Status);
        Assert.Equal(before, (await Send(HttpMethod.Get, "/api/stream/picks")).Body);
    }

    [Fact]
    public async Task Connections_gives_what_the_node_accepted_holds_and_takes_at_most()
    {
        var before = JsonDocument.Parse((await Send(HttpMethod.Get, "/api/stream/connections")).Body).RootElement;
        Assert.Equal(0, before.GetProperty("accepted").GetInt64());
        Assert.Equal(0, before.GetProperty("active").GetInt32());
        Assert.Equal(_node.Node.Limit.Max, before.GetProperty("max").GetInt32());
        Assert.True(before.GetProperty("open_file_limit").GetInt64() > before.GetProperty("max").GetInt32() * 2L);

        var client = await WebSocketClient.ConnectAsync(_node.Port());
        await client.EchoAsync("count me"u8.ToArray(), WebSocketMessageType.Text);
        var open = JsonDocument.Parse((await Send(HttpMethod.Get, "/api/stream/connections")).Body).RootElement;
        Assert.Equal(1, open.GetProperty("accepted").GetInt64());
        Assert.Equal(1, open.GetProperty("active").GetInt32());

        await client.CloseAsync();
        await AwaitAssertAsync(async () =>
        {
            var after = JsonDocument.Parse((await Send(HttpMethod.Get, "/api/stream/connections")).Body).RootElement;
            Assert.Equal(1, after.GetProperty("accepted").GetInt64());
            Assert.Equal(0, after.GetProperty("active").GetInt32());
        }, NodeHarness.Patience);
    }

    [Fact]
    public async Task Post_adds_a_server_that_new_connections_reach_once_the_others_are_down()
    {
        var third = await StartBackend();

        var response = await Request(HttpMethod.Post, $"{Backend}/servers", $$"""{"server":"{{third.EndPoint}}","weight":1,"max_conns":0,"backup":false}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"{Backend}/servers/2", response.Headers.Location?.OriginalString);
        Assert.Equal(Peer(2, third), await response.Content.ReadAsStringAsync());
        Assert.Equal([_backends[0].EndPoint.ToString(), _backends[1].EndPoint.ToString(), third.EndPoint.ToString()],
            (await Peers()).Select(p => p.GetProperty("server").GetString()));

        // The first by id, the second by its address.
        Assert.Equal((HttpStatusCode.OK, Peer(0, _backends[0], state: "down")), await Send(HttpMethod.Patch, $"{Backend}/servers/0", """{"down":true}"""));
        Assert.Equal((HttpStatusCode.OK, Peer(1, _backends[1], state: "down")),
            await Send(HttpMethod.Patch, $"{Backend}/servers/{Uri.EscapeDataString(_backends[1].EndPoint.ToString())}", """{"down":true}"""));

        var client = await WebSocketClient.ConnectAsync(_node.Port());
        var (echoed, _) = await client.EchoAsync("to the new one"u8.ToArray(), WebSocketMessageType.Text);

        Assert.Equal("to the new one", Encoding.UTF8.GetString(echoed));
        Assert.Equal([0L, 0L, 1L], _backends.Select(b => b.TotalConnections));
        Assert.Equal([0, 0, 1], (await Peers()).Select(p => p.GetProperty("active").GetInt32()));
        await client.CloseAsync();

        Assert.Equal((HttpStatusCode.OK, Peer(0, _backends[0])), await Send(HttpMethod.Patch, $"{Backend}/servers/0", """{"down":false}"""));
        Assert.Equal((HttpStatusCode.OK, Peer(0, _backends[0], weight: 3)), await Send(HttpMethod.Patch, $"{Backend}/servers/0", """{"weight":3}"""));
    }

    [Fact]
    public async Task Patch_drain_keeps_the_established_connection_and_sends_new_ones_elsewhere()
    {
        var first = await WebSocketClient.ConnectAsync(_node.Port());
        await first.EchoAsync("first"u8.ToArray(), WebSocketMessageType.Text);
        var drained = -1;
        await AwaitAssertAsync(async () => drained = Assert.Single(await Peers(), p => p.GetProperty("active").GetInt32() == 1).GetProperty("id").GetInt32(),
            NodeHarness.Patience);

        var (status, body) = await Send(HttpMethod.Patch, $"{Backend}/servers/{drained}", """{"drain":true}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Peer(drained, _backends[drained], state: "draining", active: 1), body);

        // Without the drain, least_conn would put some of these on the busy server too.
        var others = new List<ClientWebSocket>();
        for (var i = 0; i < 3; i++)
        {
            var client = await WebSocketClient.ConnectAsync(_node.Port());
            await client.EchoAsync("later"u8.ToArray(), WebSocketMessageType.Text);
            others.Add(client);
        }

        var (echoed, _) = await first.EchoAsync("still here"u8.ToArray(), WebSocketMessageType.Text);
        Assert.Equal("still here", Encoding.UTF8.GetString(echoed));
        Assert.Equal(1, _backends[drained].TotalConnections);
        Assert.Equal(3, _backends[1 - drained].TotalConnections);
        var peers = await Peers();
        Assert.Equal(("draining", 1), (peers[drained].GetProperty("state").GetString(), peers[drained].GetProperty("active").GetInt32()));
        Assert.Equal(("up", 3), (peers[1 - drained].GetProperty("state").GetString(), peers[1 - drained].GetProperty("active").GetInt32()));

        await first.CloseAsync();
        foreach (var client in others)
            await client.CloseAsync();
        await _node.AssertDrainedAsync();
    }

    [Fact]
    public async Task Delete_removes_the_server()
    {
        var response = await Request(HttpMethod.Delete, $"{Backend}/servers/1");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());
        Assert.Equal((HttpStatusCode.OK, $$$"""{"policy":"least_conn","zombies":0,"peers":[{{{Peer(0, _backends[0])}}}]}"""), await Send(HttpMethod.Get, Backend));
        Assert.Equal((HttpStatusCode.NotFound, Error(404, "no server \"1\" in upstream \"backend\"", "ServerNotFound")),
            await Send(HttpMethod.Delete, $"{Backend}/servers/1"));
    }

    [Theory]
    [InlineData("GET", "/api/stream/upstreams/nope", null, 404, "upstream \"nope\" not found", "UpstreamNotFound")]
    [InlineData("POST", "/api/stream/upstreams/nope/servers", """{"server":"127.0.0.1:1"}""", 404, "upstream \"nope\" not found", "UpstreamNotFound")]
    [InlineData("PATCH", Backend + "/servers/9", """{"down":true}""", 404, "no server \"9\" in upstream \"backend\"", "ServerNotFound")]
    [InlineData("PATCH", Backend + "/servers/10.0.0.9%3A80", """{"down":true}""", 404, "no server \"10.0.0.9:80\" in upstream \"backend\"", "ServerNotFound")]
    [InlineData("DELETE", Backend + "/servers/9", null, 404, "no server \"9\" in upstream \"backend\"", "ServerNotFound")]
    [InlineData("POST", Backend + "/servers", """{"server":"nohost"}""", 400, "invalid server address \"nohost\": expected host:port", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", """{"server":"127.0.0.1:1","weight":0}""", 400, "weight must be at least 1 and max_conns at least 0", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", """{"server": """, 400, "the request body is not valid JSON (line 1, byte 12)", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", "[1]", 400, "the request body must be a JSON object", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", """{"weight":2}""", 400, "\"server\" is required", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", """{"server":8080}""", 400, "\"server\" must be a string \"host:port\"", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", """{"server":"127.0.0.1:1","weight":"2"}""", 400, "\"weight\" must be an integer", "InvalidRequest")]
    [InlineData("POST", Backend + "/servers", """{"server":"127.0.0.1:1","backup":1}""", 400, "\"backup\" must be true or false", "InvalidRequest")]
    [InlineData("PATCH", Backend + "/servers/0", """{"drain":true,"down":true}""", 400, "\"drain\" and \"down\" cannot both be true", "InvalidRequest")]
    [InlineData("PATCH", Backend + "/servers/0", "{}", 400, "nothing to change: give \"drain\", \"down\" or \"weight\"", "InvalidRequest")]
    [InlineData("PATCH", Backend + "/servers/0", """{"max_fails":3}""", 400, "unknown field \"max_fails\": expected \"weight\", \"down\", \"drain\"", "InvalidRequest")]
    [InlineData("PATCH", Backend + "/servers/0", """{"down":true,"down":false}""", 400, "field \"down\" is given twice", "InvalidRequest")]
    public async Task Bad_requests_get_an_nginx_plus_style_error_and_change_nothing(string method, string path, string? body, int status, string text, string code)
    {
        var answer = await Send(new HttpMethod(method), path, body);

        Assert.Equal(((HttpStatusCode)status, Error(status, text, code)), answer);
        Assert.Equal((HttpStatusCode.OK, TwoPeersUp),
            await Send(HttpMethod.Get, Backend));
    }

    [Fact]
    public async Task Adding_a_server_twice_is_a_conflict()
    {
        var (status, body) = await Send(HttpMethod.Post, $"{Backend}/servers", $$"""{"server":"{{_backends[0].EndPoint}}"}""");

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal(Error(409, $"server {_backends[0].EndPoint} already exists in upstream \"backend\"", "ServerAlreadyExists"), body);
    }

    [Fact]
    public async Task With_a_token_changes_need_it_and_reads_do_not()
    {
        var secured = await StartApi(Token);
        var third = await StartBackend();
        var add = $$"""{"server":"{{third.EndPoint}}"}""";
        var unauthorized = Error(401, "changes need an \"Authorization: Bearer <token>\" header with the admin token", "Unauthorized");

        var missing = await Request(HttpMethod.Post, $"{Backend}/servers", add, client: secured);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.ToString());
        Assert.Equal(unauthorized, await missing.Content.ReadAsStringAsync());
        Assert.Equal((HttpStatusCode.Unauthorized, unauthorized), await Send(HttpMethod.Post, $"{Backend}/servers", add, token: "wrong", client: secured));
        Assert.Equal((HttpStatusCode.Unauthorized, unauthorized), await Send(HttpMethod.Post, $"{Backend}/servers", add, token: Token + "x", client: secured));
        Assert.Equal((HttpStatusCode.Unauthorized, unauthorized), await Send(HttpMethod.Patch, $"{Backend}/servers/0", """{"down":true}""", client: secured));
        Assert.Equal((HttpStatusCode.Unauthorized, unauthorized), await Send(HttpMethod.Delete, $"{Backend}/servers/0", client: secured));

        Assert.Equal((HttpStatusCode.OK, TwoPeersUp),
            await Send(HttpMethod.Get, Backend, client: secured));

        Assert.Equal((HttpStatusCode.Created, Peer(2, third)), await Send(HttpMethod.Post, $"{Backend}/servers", add, token: Token, client: secured));
        Assert.Equal(3, (await Peers()).Count);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.0.2.1")]
    public async Task A_non_loopback_endpoint_without_a_token_is_refused(string address)
    {
        var options = new AdminOptions { EndPoint = new IPEndPoint(IPAddress.Parse(address), 0) };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => AdminApi.StartAsync(_node.Node, options));

        Assert.Contains("needs a token", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The upstream as configured: both backends up, nothing open.</summary>
    private string TwoPeersUp => $$$"""{"policy":"least_conn","zombies":0,"peers":[{{{Peer(0, _backends[0])}}},{{{Peer(1, _backends[1])}}}]}""";

    private static string Peer(int id, EchoServer backend, int weight = 1, string state = "up", int active = 0) =>
        $$"""{"id":{{id}},"server":"{{backend.EndPoint}}","weight":{{weight}},"state":"{{state}}","active":{{active}},"max_conns":0,"backup":false}""";

    private static string Error(int status, string text, string code) =>
        $$$"""{"error":{"status":{{{status}}},"text":"{{{text.Replace("\"", "\\\"", StringComparison.Ordinal)}}}","code":"{{{code}}}"}}""";

    private async Task<HttpClient> StartApi(string? token)
    {
        var api = await AdminApi.StartAsync(_node.Node, new AdminOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Token = token });
        _apis.Add(api);
        var client = new HttpClient { BaseAddress = new Uri($"http://{api.EndPoint}"), Timeout = NodeHarness.Patience };
        _clients.Add(client);
        return client;
    }

    private async Task<EchoServer> StartBackend()
    {
        var backend = (await NodeHarness.StartEchoBackends(1))[0];
        _backends.Add(backend);
        return backend;
    }

    private async Task<List<JsonElement>> Peers()
    {
        var (status, body) = await Send(HttpMethod.Get, Backend);
        Assert.Equal(HttpStatusCode.OK, status);
        return JsonDocument.Parse(body).RootElement.GetProperty("peers").EnumerateArray().ToList();
    }

    private async Task<(HttpStatusCode Status, string Body)> Send(HttpMethod method, string path, string? body = null, string? token = null, HttpClient? client = null)
    {
        using var response = await Request(method, path, body, token, client);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<HttpResponseMessage> Request(HttpMethod method, string path, string? body = null, string? token = null, HttpClient? client = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (client ?? _http).SendAsync(request);
    }
}
