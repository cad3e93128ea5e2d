using System.Text;

namespace StreamLb.Configuration;

/// <summary>Splits nginx config text into words, quoted strings and <c>; { }</c>, dropping <c>#</c> comments.</summary>
internal static class Tokenizer
{
    /// <summary>Tokens of <paramref name="text"/>; <paramref name="endLine"/> is the line the file ends on.</summary>
    public static List<Token> Tokenize(string text, out int endLine)
    {
        var tokens = new List<Token>();
        var line = 1;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                i++;
            }
            else if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#')
            {
                while (i < text.Length && text[i] != '\n')
                    i++;
            }
            else if (c is ';' or '{' or '}')
            {
                var kind = c switch { ';' => TokenKind.Semicolon, '{' => TokenKind.OpenBrace, _ => TokenKind.CloseBrace };
                tokens.Add(new Token(kind, c.ToString(), line));
                i++;
            }
            else
            {
                var start = line;
                var word = c is '"' or '\'' ? ReadQuoted(text, ref i, ref line) : ReadWord(text, ref i, ref line);
                tokens.Add(new Token(TokenKind.Word, word, start));
            }
        }

        endLine = line;
        return tokens;
    }

    // An unterminated string runs to the end of the file; the reader then reports the missing ";".
    private static string ReadQuoted(string text, ref int i, ref int line)
    {
        var quote = text[i++];
        var word = new StringBuilder();
        while (i < text.Length && text[i] != quote)
            Append(word, text, ref i, ref line);
        if (i < text.Length)
            i++;
        return word.ToString();
    }

    private static string ReadWord(string text, ref int i, ref int line)
    {
        var word = new StringBuilder();
        // Like nginx, "}" does not end a word and "{" does not either right after "$", so ${name} reads as one word.
        while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] != ';'
               && (text[i] != '{' || (word.Length > 0 && word[^1] == '$')))
            Append(word, text, ref i, ref line);
        return word.ToString();
    }

    // nginx's escapes: \" \' \\ \t \r \n; any other backslash stays as written but still keeps the next char literal.
    private static void Append(StringBuilder word, string text, ref int i, ref int line)
    {
        var c = text[i++];
        if (c == '\\' && i < text.Length)
        {
            var next = text[i++];
            if (next == '\n')
                line++;
            word.Append(next switch
            {
                '"' or '\'' or '\\' => next.ToString(),
                't' => "\t",
                'r' => "\r",
                'n' => "\n",
                _ => "\\" + next,
            });
            return;
        }

        if (c == '\n')
            line++;
        word.Append(c);
    }
}
