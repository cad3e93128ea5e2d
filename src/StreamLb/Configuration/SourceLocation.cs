namespace StreamLb.Configuration;

/// <summary>Where a directive stands in a config file; every config error carries one.</summary>
public readonly record struct SourceLocation(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}
