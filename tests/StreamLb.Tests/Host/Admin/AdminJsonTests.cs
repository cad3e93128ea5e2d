using System.Text.Json;
using StreamLb.Balancing;
using StreamLb.Host.Admin;
using Xunit;

namespace StreamLb.Tests.Host.Admin;

/// <summary>Snapshots as the admin API writes them: every state's name, and health checks only when there are any.</summary>
public sealed class AdminJsonTests
{
    [Theory]
    [InlineData(ServerState.Up, "up")]
    [InlineData(ServerState.Down, "down")]
    [InlineData(ServerState.Draining, "draining")]
    [InlineData(ServerState.Failed, "failed")]
    [InlineData(ServerState.Unhealthy, "unhealthy")]
    public void Every_state_has_its_nginx_plus_name(ServerState state, string name) => Assert.Equal(name, AdminJson.StateName(state));

    [Fact]
    public void A_peer_with_health_checks_shows_them()
    {
        var health = new HealthSnapshot(Healthy: false, Checks: 12, Fails: 3, LastChecked: DateTimeOffset.UnixEpoch, LastError: "connection refused");
        var server = new ServerSnapshot(4, "10.0.0.5:8080", Weight: 2, Active: 7, ServerState.Unhealthy, Backup: true, MaxConns: 100, health);

        var json = JsonSerializer.Serialize(AdminJson.ToJson(server), AdminJsonContext.Relaxed.PeerJson);

        Assert.Equal("""
            {"id":4,"server":"10.0.0.5:8080","weight":2,"state":"unhealthy","active":7,"max_conns":100,"backup":true,"health_checks":{"checks":12,"fails":3,"unhealthy":true,"last_passed":false,"last_error":"connection refused"}}
            """, json);
    }

    [Fact]
    public void A_passed_last_check_has_no_error()
    {
        var server = new ServerSnapshot(0, "10.0.0.5:8080", 1, 0, ServerState.Up, false, 0, new HealthSnapshot(true, 5, 0, DateTimeOffset.UnixEpoch, null));

        var json = JsonSerializer.Serialize(AdminJson.ToJson(server), AdminJsonContext.Relaxed.PeerJson);

        Assert.EndsWith("""
            "health_checks":{"checks":5,"fails":0,"unhealthy":false,"last_passed":true,"last_error":null}}
            """, json, StringComparison.Ordinal);
    }
}
