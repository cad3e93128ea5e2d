using Akka.TestKit.Xunit2;
using StreamLb.Listening;
using Xunit;

namespace StreamLb.Tests.Connections;

/// <summary>The node's count of client connections: room for listeners that wait, and the end a stopping node waits for.</summary>
public sealed class ConnectionLimitTests : TestKit
{
    private static readonly object Resume = new();

    [Fact]
    public void A_listener_waiting_for_room_is_told_when_a_connection_ends_and_not_before()
    {
        var limit = new ConnectionLimit(2);
        limit.Opened();
        limit.Opened();
        Assert.True(limit.IsFull);
        var listener = CreateTestProbe();

        limit.WhenRoom(listener, Resume);
        listener.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        limit.Closed();

        listener.ExpectMsg(Resume);
        Assert.False(limit.IsFull);
        Assert.Equal(2, limit.Accepted);
    }

    [Fact]
    public void A_listener_that_asks_for_room_when_there_is_some_is_told_at_once()
    {
        var limit = new ConnectionLimit(1);
        var listener = CreateTestProbe();

        limit.WhenRoom(listener, Resume);

        listener.ExpectMsg(Resume);
    }

    [Fact]
    public async Task None_open_completes_when_the_last_connection_ends()
    {
        var limit = new ConnectionLimit(10);
        await limit.WhenNoneOpen(); // none yet
        limit.Opened();
        limit.Opened();

        var noneOpen = limit.WhenNoneOpen();
        limit.Closed();
        Assert.False(noneOpen.IsCompleted);
        limit.Closed();

        await noneOpen.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_lower_cap_is_kept_and_a_higher_one_is_not()
    {
        var limit = new ConnectionLimit(100, fileLimit: 1024);

        Assert.Equal(10, limit.AtMost(10).Max);
        Assert.Equal(1024, limit.AtMost(10).FileLimit);
        Assert.Same(limit, limit.AtMost(1000));
        Assert.Same(limit, limit.AtMost(null));
    }
}
