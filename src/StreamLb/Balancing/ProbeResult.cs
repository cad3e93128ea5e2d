namespace StreamLb.Balancing;

/// <summary>One active health check of a server: passed, or failed with the reason.</summary>
public sealed record ProbeResult(string Address, bool Passed, string? Error)
{
    public override string ToString() => Passed ? $"ProbeResult({Address}, passed)" : $"ProbeResult({Address}, failed: {Error})";
}
