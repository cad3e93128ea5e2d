namespace StreamLb.Configuration;

/// <summary>One configuration error, printed like <c>nginx -t</c>: <c>file:line: message</c>.</summary>
public sealed record ConfigError(SourceLocation Location, string Directive, string Message)
{
    public override string ToString() => $"{Location}: {Message}";
}
