namespace StreamLb.Configuration;

/// <summary>nginx time values: <c>ms s m h d w M y</c>, bare numbers are seconds, parts combine (<c>1m30s</c>, <c>"1h 30m"</c>).</summary>
public static class TimeValue
{
    // Largest unit first; nginx wants the parts of a combination in this order, each unit at most once.
    private static readonly (string Unit, long Milliseconds)[] Units =
    [
        ("y", 365L * 24 * 3600 * 1000),
        ("M", 30L * 24 * 3600 * 1000),
        ("w", 7L * 24 * 3600 * 1000),
        ("d", 24L * 3600 * 1000),
        ("h", 3600L * 1000),
        ("ms", 1),
        ("m", 60L * 1000),
        ("s", 1000),
    ];

    private static readonly long MaxMilliseconds = TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMillisecond;

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        long total = 0;
        var lastRank = -1;
        var i = 0;
        var parts = 0;
        while (true)
        {
            while (i < text.Length && text[i] == ' ')
                i++;
            if (i == text.Length)
                break;

            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
                i++;
            if (i == start || i - start > 15)
                return false;
            var number = long.Parse(text.AsSpan(start, i - start));

            var unit = Array.FindIndex(Units, u => text.AsSpan(i).StartsWith(u.Unit, StringComparison.Ordinal));
            if (unit >= 0)
                i += Units[unit].Unit.Length;
            else if (i == text.Length || text[i] == ' ')
                unit = Array.FindIndex(Units, u => u.Unit == "s");
            else
                return false;

            var rank = Rank(unit);
            if (rank <= lastRank || number > (MaxMilliseconds - total) / Units[unit].Milliseconds)
                return false;
            lastRank = rank;
            total += number * Units[unit].Milliseconds;
            parts++;
        }

        value = TimeSpan.FromMilliseconds(total);
        return parts > 0;
    }

    // "ms" is listed before "m" so it matches first; by size it comes last.
    private static int Rank(int unit) => Units[unit].Unit == "ms" ? Units.Length : unit;
}
