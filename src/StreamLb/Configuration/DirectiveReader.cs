namespace StreamLb.Configuration;

/// <summary>
/// Turns tokens into a tree of directives and expands <c>include</c> in place. Syntax errors are collected and the
/// broken directive dropped, so reading goes on to the end of every file.
/// </summary>
internal sealed class DirectiveReader(List<ConfigError> errors)
{
    private readonly Stack<string> _reading = new();

    public IReadOnlyList<ConfigDirective> ReadText(string text, string file)
    {
        _reading.Push(Path.GetFullPath(file));
        try
        {
            var tokens = Tokenizer.Tokenize(text, out var endLine);
            var i = 0;
            var eofReported = false;
            return new FileReader(this, tokens, file, endLine).ReadBlock(ref i, owner: null, ref eofReported);
        }
        finally
        {
            _reading.Pop();
        }
    }

    private void Error(SourceLocation location, string directive, string message) =>
        errors.Add(new ConfigError(location, directive, message));

    private IEnumerable<ConfigDirective> Include(ConfigDirective include)
    {
        var pattern = include.Args[0];
        string[] files;
        try
        {
            pattern = Path.GetFullPath(pattern, FolderOf(include.Location.File));
            files = FilesMatching(pattern);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Error(include.Location, "include", $"open() \"{pattern}\" failed ({FileErrors.Describe(e)})");
            return [];
        }

        var result = new List<ConfigDirective>();
        foreach (var file in files)
        {
            if (_reading.Contains(file))
            {
                Error(include.Location, "include", $"recursive include of \"{file}\" in \"include\" directive");
                continue;
            }

            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Error(include.Location, "include", $"open() \"{file}\" failed ({FileErrors.Describe(e, file)})");
                continue;
            }

            result.AddRange(ReadText(text, file));
        }

        return result;
    }

    // A '*' or '?' in the file name part is a glob (sorted, may match nothing, like nginx); otherwise the file must exist.
    private static string[] FilesMatching(string pattern)
    {
        var name = Path.GetFileName(pattern);
        if (name.IndexOfAny(['*', '?']) < 0)
            return File.Exists(pattern) ? [pattern] : throw new FileNotFoundException(null, pattern);
        var files = Directory.GetFiles(Path.GetDirectoryName(pattern)!, name);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    /// <summary>The absolute folder of a config file; relative paths in it resolve against this.</summary>
    public static string FolderOf(string file) => Path.GetDirectoryName(Path.GetFullPath(file))!;

    private sealed class FileReader(DirectiveReader reader, List<Token> tokens, string file, int endLine)
    {
        public List<ConfigDirective> ReadBlock(ref int i, ConfigDirective? owner, ref bool eofReported)
        {
            var result = new List<ConfigDirective>();
            var words = new List<Token>();
            while (i < tokens.Count)
            {
                var token = tokens[i++];
                switch (token.Kind)
                {
                    case TokenKind.Word:
                        words.Add(token);
                        break;
                    case TokenKind.Semicolon when words.Count == 0:
                        Error(token.Line, ";", "unexpected \";\"");
                        break;
                    case TokenKind.Semicolon:
                        var simple = Directive(words);
                        if (simple.Name != "include")
                            result.Add(simple);
                        else if (simple.Args.Count != 1)
                            Error(token.Line, "include", "invalid number of arguments in \"include\" directive");
                        else
                            result.AddRange(reader.Include(simple));
                        words.Clear();
                        break;
                    case TokenKind.OpenBrace:
                        var head = words.Count == 0 ? null : Directive(words);
                        words.Clear();
                        if (head is null)
                            Error(token.Line, "{", "unexpected \"{\"");
                        else if (head.Name == "include")
                            Error(head.Location.Line, "include", "directive \"include\" is not terminated by \";\"");
                        var inner = ReadBlock(ref i, head ?? Directive([token]), ref eofReported);
                        if (head is not null && head.Name != "include")
                            result.Add(head with { Block = inner });
                        break;
                    case TokenKind.CloseBrace:
                        if (owner is null || words.Count > 0)
                            Error(token.Line, words.Count > 0 ? words[0].Text : "}", "unexpected \"}\"");
                        words.Clear();
                        if (owner is not null)
                            return result;
                        break;
                }
            }

            // One end of file closes every open block, so it is reported once, by the innermost.
            if (!eofReported && words.Count > 0)
                Error(endLine, words[0].Text, "unexpected end of file, expecting \";\" or \"}\"");
            else if (!eofReported && owner is not null)
                Error(endLine, owner.Name, "unexpected end of file, expecting \"}\"");
            eofReported |= words.Count > 0 || owner is not null;
            return result;
        }

        private ConfigDirective Directive(List<Token> words) =>
            new(words[0].Text, words.Skip(1).Select(w => w.Text).ToArray(), Block: null, new SourceLocation(file, words[0].Line));

        private void Error(int line, string directive, string message) =>
            reader.Error(new SourceLocation(file, line), directive, message);
    }
}
