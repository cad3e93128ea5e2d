namespace StreamLb.Configuration;

/// <summary>One directive as written: its name, arguments and, for <c>name args { }</c>, the directives inside.</summary>
internal sealed record ConfigDirective(
    string Name,
    IReadOnlyList<string> Args,
    IReadOnlyList<ConfigDirective>? Block,
    SourceLocation Location);
