namespace StreamLb.Configuration;

/// <summary>A <c>listen [ADDR:]PORT [ssl];</c> line. Port 0 binds an ephemeral port.</summary>
public sealed record ListenConfig
{
    /// <summary>An IP address literal (no brackets); <c>0.0.0.0</c> when the line names only a port.</summary>
    public required string Host { get; init; }

    public required int Port { get; init; }

    public bool Ssl { get; init; }

    public SourceLocation Location { get; init; }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
