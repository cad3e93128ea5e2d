using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Configuration;

public sealed class TimeValueTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("10", 10_000L)]
    [InlineData("10s", 10_000L)]
    [InlineData("500ms", 500L)]
    [InlineData("2m", 120_000L)]
    [InlineData("1h", 3_600_000L)]
    [InlineData("1d", 86_400_000L)]
    [InlineData("1w", 604_800_000L)]
    [InlineData("1M", 2_592_000_000L)]
    [InlineData("1y", 31_536_000_000L)]
    [InlineData("1m30s", 90_000L)]
    [InlineData("1m30", 90_000L)]
    [InlineData("1h 30m", 5_400_000L)]
    [InlineData("1s500ms", 1_500L)]
    [InlineData(" 5s ", 5_000L)]
    public void Parses_nginx_time_units(string text, long milliseconds)
    {
        Assert.True(TimeValue.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("abc")]
    [InlineData("s")]
    [InlineData("10x")]
    [InlineData("-1s")]
    [InlineData("1.5s")]
    [InlineData("10 s")]
    [InlineData("30s1m")]
    [InlineData("1m1m")]
    [InlineData("1s30")]
    [InlineData("99999999999999999y")]
    public void Rejects_malformed_times(string text)
    {
        Assert.False(TimeValue.TryParse(text, out _));
    }
}
