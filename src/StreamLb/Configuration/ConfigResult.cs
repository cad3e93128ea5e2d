namespace StreamLb.Configuration;

/// <summary>The outcome of loading a configuration: the config when it is valid, and every error found.</summary>
public sealed record ConfigResult(StreamConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    public bool IsValid => Config is not null && Errors.Count == 0;
}
