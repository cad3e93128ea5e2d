namespace StreamLb.Balancing;

/// <summary>Lays servers end to end, each as long as its weight, and finds the one under a point.</summary>
internal static class WeightedChoice
{
    public static long TotalWeight(IReadOnlyList<ServerEntry> servers)
    {
        long total = 0;
        foreach (var server in servers)
            total += server.Weight;
        return total;
    }

    /// <summary>The server under <paramref name="point"/>, which must lie in [0, total weight).</summary>
    public static ServerEntry At(IReadOnlyList<ServerEntry> servers, long point)
    {
        foreach (var server in servers)
        {
            if (point < server.Weight)
                return server;
            point -= server.Weight;
        }
        throw new ArgumentOutOfRangeException(nameof(point), "The point lies beyond the servers' total weight.");
    }

    public static ServerEntry? Random(IReadOnlyList<ServerEntry> servers, Random random) =>
        servers.Count == 0 ? null : At(servers, random.NextInt64(TotalWeight(servers)));
}
