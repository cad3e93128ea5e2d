namespace StreamLb.Configuration;

internal enum TokenKind
{
    Word,
    Semicolon,
    OpenBrace,
    CloseBrace,
}

/// <summary>A word (quotes and escapes already removed) or one of <c>; { }</c>, with the line it starts on.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Line);
