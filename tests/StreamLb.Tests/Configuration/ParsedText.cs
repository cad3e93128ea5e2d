using StreamLb.Configuration;
using Xunit;

namespace StreamLb.Tests.Configuration;

/// <summary>Config text parsed as the file <c>test.conf</c>, so errors read <c>test.conf:LINE: message</c>.</summary>
internal static class ParsedText
{
    public static StreamConfig Valid(string text)
    {
        var result = ConfigLoader.Parse(text, "test.conf");
        Assert.Empty(result.Errors.Select(e => e.ToString()));
        return result.Config!;
    }

    public static string[] Errors(string text) =>
        ConfigLoader.Parse(text, "test.conf").Errors.Select(e => e.ToString()).ToArray();
}
