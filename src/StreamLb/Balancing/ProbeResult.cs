namespace StreamLb.Balancing;

/// <summary>One active health probe of a server: whether a TCP connect to it succeeded in time, and if not, why.</summary>
public sealed record ProbeResult(string Address, bool Passed, string? Error)
{
    public override string ToString() => Passed ? $"probe of {Address} passed" : $"probe of {Address} failed: {Error}";
}
